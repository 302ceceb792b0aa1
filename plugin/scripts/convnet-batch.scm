; convnet-batch.scm: batch jobs of gimp-convnet for Script-Fu and gimp -i -b.
;
;   (convnet-classify-files "photos/*.png" "lenet5-fashion" 5 "out.csv")
;
; classifies every image the pattern (or folder, searched recursively)
; names and writes a CSV with the columns file, rank, label, probability
; (one row per file and rank).  It is one call of
; plug-in-convnet-classify-files: one process loads the model once and
; decodes the files itself, so a file costs milliseconds, not a GIMP
; loader and a plug-in start.  A file that cannot be read is a row
; "FILE,error,WHY," and is told in a message.  Returns how many files were
; classified.
;
; What differs between GIMP 2.10 and GIMP 3 (loading, the selected
; drawable, how our procedures are called and what they return, saving) is
; in convnet-host.scm, installed from convnet-host-gimp2.scm or
; convnet-host-gimp3.scm for the host the plug-in was built for.

(define (convnet-nth items i)
  (if (vector? items) (vector-ref items i) (list-ref items i)))

(define (convnet-length items)
  (if (vector? items) (vector-length items) (length items)))

(define (convnet-classify-files pattern model top-k csv-path)
  (car (convnet-classify-files-proc model pattern top-k csv-path)))

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
