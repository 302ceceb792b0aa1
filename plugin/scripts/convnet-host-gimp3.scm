; convnet-host-gimp3.scm: what the batch scripts (convnet-batch.scm) need
; from GIMP 3's Script-Fu, installed as convnet-host.scm.  GIMP 2.10 has
; its own (convnet-host-gimp2.scm) with the same definitions.  GIMP 3
; takes a plug-in's arguments by name and an image procedure's drawables
; as a vector.

(define (convnet-load filename)
  (car (gimp-file-load RUN-NONINTERACTIVE filename)))

(define (convnet-drawable image)
  (vector-ref (car (gimp-image-get-selected-drawables image)) 0))

(define (convnet-glob pattern)
  (car (file-glob #:pattern pattern #:filename-encoding TRUE)))

; (labels probabilities), best first
(define (convnet-classify image drawable model top-k)
  (plug-in-convnet-classify #:run-mode RUN-NONINTERACTIVE #:image image
                            #:drawables (vector drawable) #:model model
                            #:top-k top-k))

(define (convnet-feature-maps image drawable model node max-channels grid)
  (car (plug-in-convnet-feature-maps #:run-mode RUN-NONINTERACTIVE
                                     #:image image
                                     #:drawables (vector drawable)
                                     #:model model #:node node
                                     #:max-channels max-channels
                                     #:as-grid (if grid TRUE FALSE))))

(define (convnet-saliency image drawable model class node)
  (car (plug-in-convnet-saliency #:run-mode RUN-NONINTERACTIVE #:image image
                                 #:drawables (vector drawable) #:model model
                                 #:class class #:node node)))

(define (convnet-save-xcf image drawable path)
  (gimp-xcf-save RUN-NONINTERACTIVE image path))

(define (convnet-save-png image drawable path)
  (gimp-file-save RUN-NONINTERACTIVE image path -1))

; (classified failed)
(define (convnet-classify-files-proc model files top-k csv-path)
  (plug-in-convnet-classify-files #:run-mode RUN-NONINTERACTIVE #:model model
                                  #:files files #:top-k top-k
                                  #:csv-path csv-path))
