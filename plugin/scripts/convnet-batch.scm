; convnet-batch.scm: batch jobs of gimp-convnet for Script-Fu and gimp -i -b.
;
;   (convnet-classify-files "photos/*.png" "lenet5-fashion" 5 "out.csv")
;
; classifies every file matching the glob and writes a CSV with the columns
; file, rank, label, probability (one row per file and rank).  A file GIMP
; cannot open is reported on the console and skipped.
;
; What differs between GIMP 2.10 and GIMP 3 (loading, the selected
; drawable, how our procedures are called and what they return, saving) is
; in convnet-host.scm, installed from convnet-host-gimp2.scm or
; convnet-host-gimp3.scm for the host the plug-in was built for.

(define (convnet-nth items i)
  (if (vector? items) (vector-ref items i) (list-ref items i)))

(define (convnet-length items)
  (if (vector? items) (vector-length items) (length items)))

(define (convnet-csv-field text)
  ; quote a field, doubling any quote inside it
  (let loop ((chars (string->list text)) (out '(#\")))
    (cond ((null? chars) (list->string (reverse (cons #\" out))))
          ((char=? (car chars) #\")
           (loop (cdr chars) (cons #\" (cons #\" out))))
          (else (loop (cdr chars) (cons (car chars) out))))))

(define (convnet-classify-file filename model top-k port)
  (let* ((image (convnet-load filename))
         (result (convnet-classify image (convnet-drawable image) model
                                   top-k))
         (labels (car result))
         (probabilities (cadr result)))
    (let loop ((i 0))
      (if (< i (convnet-length labels))
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
  (let ((files (convnet-glob pattern))
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
  (let* ((image (convnet-load filename))
         (drawable (convnet-drawable image))
         (result (convnet-classify image drawable model 5))
         (labels (car result))
         (probabilities (cadr result)))
    (let loop ((i 0) (text (string-append model " on " filename ":")))
      (if (< i (convnet-length labels))
          (loop (+ i 1)
                (string-append text "\n  " (number->string (+ i 1)) ". "
                               (convnet-nth labels i) " "
                               (number->string (convnet-nth probabilities i))))
          (gimp-message text)))
    (convnet-feature-maps image drawable model node 0 #f)
    (convnet-saliency image drawable model -1 "")
    (convnet-save-xcf image drawable xcf-path)
    ; the grid alone, in an image of its own size
    (let* ((grid-image (convnet-load filename))
           (photo (convnet-drawable grid-image))
           (grid (convnet-feature-maps grid-image photo model node 0 #t)))
      (gimp-image-remove-layer grid-image photo)
      (gimp-image-resize-to-layers grid-image)
      (convnet-save-png grid-image grid grid-path)
      (gimp-image-delete grid-image))
    (gimp-image-delete image)
    (convnet-length labels)))
