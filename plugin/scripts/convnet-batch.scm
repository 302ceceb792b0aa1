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

(define (convnet-classify-files pattern model top-k csv-path)
  (car (convnet-classify-files-proc model pattern top-k csv-path)))

; (convnet-explain-file "photo.png" "lenet5-fashion" "3" "out/photo.xcf"
;                       "out/photo-feature-maps.png")
;
; explains one file with plug-in-convnet-explain-files into the folder of
; XCF-PATH: an XCF with the photo, the feature maps of NODE tiled in one
; layer and a Grad-CAM heatmap of the top class, the feature maps as a PNG
; and the heatmap over the photo as a PNG, named after the photo
; (photo.xcf, photo-feature-maps.png, photo-heatmap.png).  An XCF-PATH or
; GRID-PATH named otherwise gets a copy.  Returns 1 once it is written.
; For many files, call plug-in-convnet-explain-files itself with a folder
; or a pattern.

(define (convnet-last-slash path)
  (let loop ((i (- (string-length path) 1)))
    (cond ((< i 0) -1)
          ((char=? (string-ref path i) #\/) i)
          (else (loop (- i 1))))))

(define (convnet-folder path)
  (let ((slash (convnet-last-slash path)))
    (if (< slash 0) "." (substring path 0 (max slash 1)))))

(define (convnet-stem path)
  (let* ((name (substring path (+ (convnet-last-slash path) 1)
                          (string-length path)))
         (dot (let loop ((i (- (string-length name) 1)))
                (cond ((<= i 0) (string-length name))
                      ((char=? (string-ref name i) #\.) i)
                      (else (loop (- i 1)))))))
    (substring name 0 dot)))

(define (convnet-copy-image from to save)
  (if (not (string=? from to))
      (let ((image (convnet-load from)))
        (save image (convnet-drawable image) to)
        (gimp-image-delete image))))

(define (convnet-explain-file filename model node xcf-path grid-path)
  (let* ((folder (convnet-folder xcf-path))
         (made (string-append folder "/" (convnet-stem filename))))
    (convnet-explain-files-proc model filename node folder #t)
    (convnet-copy-image (string-append made ".xcf") xcf-path
                        convnet-save-xcf)
    (convnet-copy-image (string-append made "-feature-maps.png") grid-path
                        convnet-save-png)
    1))
