/* system_library.h: libraries the engine opens with dlopen() at their
 * first use rather than links (fetch.c: libcurl; ops/blas.c: OpenBLAS). */
#ifndef CONVNET_SYSTEM_LIBRARY_H
#define CONVNET_SYSTEM_LIBRARY_H

#include <glib.h>

/* Stores LIBRARY's function NAME in the function pointer at SLOT (NULL
 * when it has none); FALSE when it has none. */
gboolean convnet_library_symbol (void *library, const char *name,
                                 void *slot);

#endif
