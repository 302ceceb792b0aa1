/* test_util.h: fixture reading shared by the engine's test suites. */
#ifndef CONVNET_TEST_UTIL_H
#define CONVNET_TEST_UTIL_H

#include "convnet.h"

/* Tensor KEY of FILE as a fresh float array of *NUMEL values; NULL when
 * FILE has no such tensor.  *ENTRY (may be NULL) receives its entry. */
float   *test_tensor_f32  (const ConvnetWeightFile  *file,
                           const char               *key,
                           gsize                    *numel,
                           const ConvnetTensorEntry **entry);

/* The gzip-compressed file PATH, which must inflate to exactly SIZE
 * bytes. */
gpointer test_read_gzip   (const char *path,
                           gsize       size);

/* A fresh folder under the temporary folder, named PREFIX-XXXXXX. */
char    *test_make_folder   (const char *prefix);
/* The entries in DIR, which must exist. */
guint    test_count_files   (const char *dir);
/* Removes DIR and the files in it, and frees DIR. */
void     test_remove_folder (char       *dir);

#endif
