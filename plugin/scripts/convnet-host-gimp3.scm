; convnet-host-gimp3.scm: what the batch scripts (convnet-batch.scm) need
; from GIMP 3's Script-Fu, installed as convnet-host.scm.  GIMP 2.10 has
; its own (convnet-host-gimp2.scm) with the same definitions.  GIMP 3
; takes a plug-in's arguments by name and an image procedure's drawables
; as a vector.

(define (convnet-load filename)
  (car (gimp-file-load RUN-NONINTERACTIVE filename)))

(define (convnet-drawable image)
  (vector-ref (car (gimp-image-get-selected-drawables image)) 0))

(define (convnet-save-xcf image drawable path)
  (gimp-xcf-save RUN-NONINTERACTIVE image path))

(define (convnet-save-png image drawable path)
  (gimp-file-save RUN-NONINTERACTIVE image path -1))

; (classified failed)
(define (convnet-classify-files-proc model files top-k csv-path)
  (plug-in-convnet-classify-files #:run-mode RUN-NONINTERACTIVE #:model model
                                  #:files files #:top-k top-k
                                  #:csv-path csv-path))

; (explained failed)
(define (convnet-explain-files-proc model files node out-folder xcf)
  (plug-in-convnet-explain-files #:run-mode RUN-NONINTERACTIVE #:model model
                                 #:files files #:node node
                                 #:out-folder out-folder
                                 #:save-xcf (if xcf TRUE FALSE)))
