; convnet-batch.scm: batch jobs of gimp-convnet for Script-Fu and gimp -i -b.
;
;   (convnet-classify-files "photos/*.png" "lenet5-fashion" 5 "out.csv")
;
; classifies every file matching the glob and writes a CSV with the columns
; file, rank, label, probability (one row per file and rank).  A file GIMP
; cannot open is reported on the console and skipped.

(define (convnet-nth items i)
  (if (vector? items) (vector-ref items i) (list-ref items i)))

(define (convnet-csv-field text)
  ; quote a field, doubling any quote inside it
  (let loop ((chars (string->list text)) (out '(#\")))
    (cond ((null? chars) (list->string (reverse (cons #\" out))))
          ((char=? (car chars) #\")
           (loop (cdr chars) (cons #\" (cons #\" out))))
          (else (loop (cdr chars) (cons (car chars) out))))))

(define (convnet-classify-file filename model top-k port)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE filename filename)))
         (drawable (car (gimp-image-get-active-drawable image)))
         (result (plug-in-convnet-classify RUN-NONINTERACTIVE image drawable
                                           model top-k))
         (count (car result))
         (labels (cadr result))
         (probabilities (cadddr result)))
    (let loop ((i 0))
      (if (< i count)
          (begin
            (display (convnet-csv-field filename) port)
            (display "," port)
            (display (+ i 1) port)
            (display "," port)
            (display (convnet-csv-field (convnet-nth labels i)) port)
            (display "," port)
            (display (convnet-nth probabilities i) port)
            (newline port)
            (loop (+ i 1)))))
    (gimp-image-delete image)))

(define (convnet-classify-files pattern model top-k csv-path)
  (let ((files (cadr (file-glob pattern 1)))
        (port (open-output-file csv-path)))
    (display "file,rank,label,probability" port)
    (newline port)
    (for-each
     (lambda (filename)
       (if (not (car (catch '(#f)
                       (convnet-classify-file filename model top-k port)
                       '(#t))))
           (gimp-message (string-append "convnet: skipped " filename))))
     files)
    (close-output-port port)
    (length files)))

; (convnet-explain-file "photo.png" "lenet5-fashion" "3" "out.xcf" "grid.png")
;
; classifies the file (the top 5 are reported with gimp-message), adds the
; feature maps of NODE as a layer group and a Grad-CAM heatmap of the top
; class, saves it all as an XCF, and exports the feature maps tiled in one
; layer as a PNG.
(define (convnet-explain-file filename model node xcf-path grid-path)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE filename filename)))
         (drawable (car (gimp-image-get-active-drawable image)))
         (result (plug-in-convnet-classify RUN-NONINTERACTIVE image drawable
                                           model 5))
         (labels (cadr result))
         (probabilities (cadddr result)))
    (let loop ((i 0) (text (string-append model " on " filename ":")))
      (if (< i (car result))
          (loop (+ i 1)
                (string-append text "\n  " (number->string (+ i 1)) ". "
                               (convnet-nth labels i) " "
                               (number->string (convnet-nth probabilities i))))
          (gimp-message text)))
    (plug-in-convnet-feature-maps RUN-NONINTERACTIVE image drawable model node
                                  0 FALSE)
    (plug-in-convnet-saliency RUN-NONINTERACTIVE image drawable model -1 "")
    (gimp-xcf-save RUN-NONINTERACTIVE image drawable xcf-path xcf-path)
    (let* ((grid-image (car (gimp-file-load RUN-NONINTERACTIVE filename
                                            filename)))
           (grid (car (plug-in-convnet-feature-maps
                       RUN-NONINTERACTIVE grid-image
                       (car (gimp-image-get-active-drawable grid-image))
                       model node 0 TRUE))))
      (file-png-save-defaults RUN-NONINTERACTIVE grid-image grid grid-path
                              grid-path)
      (gimp-image-delete grid-image))
    (gimp-image-delete image)
    (car result)))
