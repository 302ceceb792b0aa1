/* memory.c: where packed weights, activations, workspaces and parameters
 * live.  Each allocation is a mapping of its own, aligned to and advised
 * into huge pages when it is that large, and (but for the unfaulted kind)
 * faulted in by one call rather than a trap per page (a trap is the
 * expensive part in a virtual machine); its length is kept in a header so
 * that the caller frees it with the pointer alone. */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* the header keeps the returned memory 64-byte aligned */
#define HEADER 64
#define HUGE_PAGE ((gsize) 2 << 20)

/* Under AddressSanitizer everything here comes from malloc at its exact
 * size, so that the sanitizer's red zones guard it (a mapping is
 * addressable to its last page) and a parser fuzzed into writing past a
 * parameter is caught: the huge pages are a speed, not a behaviour. */
#if defined(__SANITIZE_ADDRESS__)
#define MALLOC_ONLY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MALLOC_ONLY 1
#endif
#endif

/* BYTES and the header, rounded up to whole huge pages. */
static inline gsize
whole_pages_total (gsize bytes)
{
  return (bytes + HEADER + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

/* Maps BYTES after a header that holds the mapping's length.  A mapping of
 * a huge page or more starts on a huge page boundary; WHOLE_PAGES rounds
 * its length up to whole huge pages as well, so that no part of it is
 * left in 4 KB pages.  POPULATE faults it all in now. */
static gpointer
map_aligned (gsize bytes, gboolean whole_pages, gboolean populate)
{
  gsize total = bytes + HEADER;
  guint8 *base;

  if (bytes > G_MAXSIZE - HEADER - 2 * HUGE_PAGE)
    return NULL;
#ifdef MALLOC_ONLY
  (void) whole_pages;
  (void) populate;
  if (posix_memalign ((void **) &base, HEADER, total) != 0)
    return NULL;
  memset (base, 0, total);
#else
  if (whole_pages)
    total = whole_pages_total (bytes);
  const gboolean huge = total >= HUGE_PAGE;

  /* a huge mapping maps a huge page more and trims both ends to start
   * on a huge page boundary */
  base = mmap (NULL, huge ? total + HUGE_PAGE : total, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED)
    return NULL;
  if (huge)
    {
      guint8 *aligned = (guint8 *) (((guintptr) base + HUGE_PAGE - 1)
                                    & ~(guintptr) (HUGE_PAGE - 1));
      const gsize page = 4096;
      const gsize tail = ((total + page - 1) & ~(page - 1));

      if (aligned > base)
        munmap (base, aligned - base);
      munmap (aligned + tail, base + total + HUGE_PAGE - (aligned + tail));
      base = aligned;
#ifdef MADV_HUGEPAGE
      madvise (base, total, MADV_HUGEPAGE);
#endif
    }
#ifdef MADV_POPULATE_WRITE
  /* an older kernel refuses: the pages then come at first use */
  if (populate)
    madvise (base, total, MADV_POPULATE_WRITE);
#endif
#endif /* MALLOC_ONLY */
  *(gsize *) base = total;
  return base + HEADER;
}

gpointer
convnet_packed_alloc (gsize bytes)
{
  return map_aligned (bytes, FALSE, TRUE);
}

gpointer
convnet_packed_alloc_unfaulted (gsize bytes)
{
  return map_aligned (bytes, FALSE, FALSE);
}

gpointer
convnet_workspace_alloc (gsize bytes)
{
  return map_aligned (bytes, TRUE, TRUE);
}

gsize
convnet_workspace_usable (gsize bytes)
{
#ifdef MALLOC_ONLY
  return bytes;
#else
  if (bytes > G_MAXSIZE - HEADER - 2 * HUGE_PAGE)
    return bytes;
  return whole_pages_total (bytes) - HEADER;
#endif
}

gboolean
convnet_packed_memory_mapped (void)
{
#ifdef MALLOC_ONLY
  return FALSE;
#else
  return TRUE;
#endif
}

const void *
convnet_file_map_huge (int fd, gsize bytes)
{
  guint8 *reserved, *aligned;
  void *view;

  if (bytes == 0 || bytes > G_MAXSIZE - HUGE_PAGE)
    return NULL;
  /* a huge-page-aligned address, so that each 2 MB of the file can be one
   * page of the mapping: reserve a huge page more, map the file over the
   * aligned part, and give the rest back */
  reserved = mmap (NULL, bytes + HUGE_PAGE, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED)
    return NULL;
  aligned = (guint8 *) (((guintptr) reserved + HUGE_PAGE - 1)
                        & ~(guintptr) (HUGE_PAGE - 1));
  view = mmap (aligned, bytes, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  if (view == MAP_FAILED)
    {
      munmap (reserved, bytes + HUGE_PAGE);
      return NULL;
    }
  if (aligned > reserved)
    munmap (reserved, aligned - reserved);
  {
    const gsize page = 4096;
    guint8 *end = aligned + ((bytes + page - 1) & ~(page - 1));

    if (end < reserved + bytes + HUGE_PAGE)
      munmap (end, reserved + bytes + HUGE_PAGE - end);
  }
#ifdef MADV_HUGEPAGE
  /* also makes the kernel read what is not cached yet in 2 MB pieces */
  madvise (view, bytes, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_READ
  /* an older kernel refuses: the pages then come at first use */
  madvise (view, bytes, MADV_POPULATE_READ);
#endif
  return view;
}

void
convnet_file_unmap (const void *view, gsize bytes)
{
  if (view)
    munmap ((void *) view, bytes);
}

void
convnet_packed_free (gpointer memory)
{
  guint8 *base;

  if (!memory)
    return;
  base = (guint8 *) memory - HEADER;
#ifdef MALLOC_ONLY
  free (base);
#else
  munmap (base, *(gsize *) base);
#endif
}
