/* memory.c: where packed weights live.  Each packing is a mapping of its
 * own, advised into huge pages, with its length kept in a header so that
 * the caller frees it with the pointer alone. */
#include "kernels.h"

#include <sys/mman.h>

/* the header keeps the returned memory 64-byte aligned */
#define HEADER 64

gpointer
convnet_packed_alloc (gsize bytes)
{
  const gsize total = bytes + HEADER;
  guint8 *base;

  if (bytes > G_MAXSIZE - HEADER)
    return NULL;
  base = mmap (NULL, total, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED)
    return NULL;
#ifdef MADV_HUGEPAGE
  if (total >= 2 << 20)
    madvise (base, total, MADV_HUGEPAGE);
#endif
  *(gsize *) base = total;
  return base + HEADER;
}

void
convnet_packed_free (gpointer memory)
{
  guint8 *base;

  if (!memory)
    return;
  base = (guint8 *) memory - HEADER;
  munmap (base, *(gsize *) base);
}
