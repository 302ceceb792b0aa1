/* model_metadata.h: the metadata of our .safetensors files, internal to
 * the engine (and its fuzzer). */
#ifndef CONVNET_MODEL_METADATA_H
#define CONVNET_MODEL_METADATA_H

#include "convnet.h"

G_BEGIN_DECLS

/* JSON for the "preprocess" and "classes" keys; g_free() the result. */
char              *model_metadata_preprocess_to_json (const ConvnetPreprocess *pre);
char              *model_metadata_labels_to_json     (const char *const *labels);

/* The architecture named by ARCH_NAME or META's "architecture" (both given
 * must agree) and, in *PRE, its preprocessing as META's "preprocess"
 * overrides it.  PATH names the file in messages; META may be NULL. */
const ConvnetArch *model_metadata_arch   (const char        *path,
                                          GHashTable        *meta,
                                          const char        *arch_name,
                                          ConvnetPreprocess *pre,
                                          GError           **error);
/* CLASSES labels: META's "classes", else ARCH's label file when its count
 * agrees, else "class N".  g_strfreev() the result. */
char             **model_metadata_labels (const char        *path,
                                          GHashTable        *meta,
                                          const ConvnetArch *arch,
                                          int                classes,
                                          GError           **error);
char             **model_metadata_default_labels (const ConvnetArch *arch,
                                                  int                classes);

G_END_DECLS

#endif
