; convnet-host-gimp2.scm: what the batch scripts (convnet-batch.scm) need
; from GIMP 2.10's Script-Fu, installed as convnet-host.scm.  GIMP 3 has
; its own (convnet-host-gimp3.scm) with the same definitions.

(define (convnet-load filename)
  (car (gimp-file-load RUN-NONINTERACTIVE filename filename)))

(define (convnet-drawable image)
  (car (gimp-image-get-active-drawable image)))

(define (convnet-save-xcf image drawable path)
  (gimp-xcf-save RUN-NONINTERACTIVE image drawable path path))

(define (convnet-save-png image drawable path)
  (file-png-save-defaults RUN-NONINTERACTIVE image drawable path path))

; (classified failed)
(define (convnet-classify-files-proc model files top-k csv-path)
  (plug-in-convnet-classify-files RUN-NONINTERACTIVE model files top-k
                                  csv-path))

; (explained failed)
(define (convnet-explain-files-proc model files node out-folder xcf)
  (plug-in-convnet-explain-files RUN-NONINTERACTIVE model files node
                                 out-folder (if xcf 1 0)))
