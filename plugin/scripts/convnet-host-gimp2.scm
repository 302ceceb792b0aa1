; convnet-host-gimp2.scm: what the batch scripts (convnet-batch.scm) need
; from GIMP 2.10's Script-Fu, installed as convnet-host.scm.  GIMP 3 has
; its own (convnet-host-gimp3.scm) with the same definitions.

(define (convnet-load filename)
  (car (gimp-file-load RUN-NONINTERACTIVE filename filename)))

(define (convnet-drawable image)
  (car (gimp-image-get-active-drawable image)))

(define (convnet-glob pattern)
  (cadr (file-glob pattern 1)))

; (labels probabilities), best first; 2.10 puts a count before each array
(define (convnet-classify image drawable model top-k)
  (let ((result (plug-in-convnet-classify RUN-NONINTERACTIVE image drawable
                                          model top-k)))
    (list (cadr result) (cadddr result))))

(define (convnet-feature-maps image drawable model node max-channels grid)
  (car (plug-in-convnet-feature-maps RUN-NONINTERACTIVE image drawable model
                                     node max-channels (if grid 1 0))))

(define (convnet-saliency image drawable model class node)
  (car (plug-in-convnet-saliency RUN-NONINTERACTIVE image drawable model
                                 class node)))

(define (convnet-save-xcf image drawable path)
  (gimp-xcf-save RUN-NONINTERACTIVE image drawable path path))

(define (convnet-save-png image drawable path)
  (file-png-save-defaults RUN-NONINTERACTIVE image drawable path path))

; (classified failed)
(define (convnet-classify-files-proc model files top-k csv-path)
  (plug-in-convnet-classify-files RUN-NONINTERACTIVE model files top-k
                                  csv-path))
