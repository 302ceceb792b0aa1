/* pack_cache.c: the packed-weights cache file.  Layout, in the machine's
 * own byte order (the file never leaves the machine that wrote it):
 *   FileHeader, then n_entries FileEntry, then each entry's bytes at a
 *   page-aligned offset.
 * A process reads the whole file at once, by both threads, into memory in
 * huge pages, and uses each entry where it lies there.  It used to map
 * the file instead, without a copy, but in a virtual machine the first
 * touch of each 4 KB page of a mapping is a trap to the hypervisor, and
 * that made the first forward slow: on this machine, resnet50's 106 MB of
 * packings took 43-60 ms to read through a fresh mapping whose pages were
 * all mapped in, against 18-21 ms to copy with read(). */
#include "pack_cache.h"
#include "convnet.h"
#include "formats/formats.h"
#include "kernels/kernels.h"

#include <errno.h>
#include <stdatomic.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "CNVPACK1"
/* The packings' layout, which a valid file's header must name.  Bump it
 * whenever a layout that conv_gemm.c, conv_winograd.c or graph_fuse.c
 * stores here changes: a file written before would otherwise be misread,
 * since its entries' sizes may well still agree.  2: Linear weights
 * stored too, and every file before them ignored, since the first
 * layouts had no version to tell them apart by. */
#define LAYOUT_VERSION 2
#define KEY_BYTES 56
#define PAGE 4096
/* what one thread reads in one call */
#define READ_CHUNK ((gsize) 4 << 20)

typedef struct
{
  char    magic[8];
  guint32 version;
  guint32 n_entries;
  /* the weights file's identity */
  guint64 size, dev, ino;
  gint64  mtime_ns, ctime_ns;
  char    isa[16];
  char    arch[32];
} FileHeader;

typedef struct
{
  char    key[KEY_BYTES];
  guint64 offset;
  guint64 bytes;
} FileEntry;

typedef struct
{
  char       *key;
  const void *data;
  gsize       bytes;
} Added;

struct ConvnetPackCache
{
  char       *path;
  FileHeader  identity;   /* what a valid file's header holds */
  GPtrArray  *readings;   /* every reading of the file, in memory from
                             convnet_packed_alloc(), kept while entries
                             read from it may be in use */
  GHashTable *stored;     /* key -> const FileEntry * in the last reading */
  guint8     *stored_base;
  GPtrArray  *added;      /* Added */
  gboolean    read;       /* the file was looked for */
  guint       hits;
};

static void
added_free (gpointer data)
{
  Added *added = data;

  g_free (added->key);
  g_free (added);
}

static gint64
nanoseconds (const struct timespec *t)
{
  return (gint64) t->tv_sec * 1000000000 + t->tv_nsec;
}

/* The folder of cache files, or NULL when the cache is off. */
static char *
cache_folder (void)
{
  const char *setting = g_getenv ("CONVNET_PACK_CACHE");

  if (setting && strcmp (setting, "0") == 0)
    return NULL;
  if (setting && *setting)
    return g_strdup (setting);
  return g_build_filename (g_get_user_cache_dir (), "gimp-convnet", "packed",
                           NULL);
}

ConvnetPackCache *
convnet_pack_cache_open (const char *path, int fd, const char *arch,
                         const char *isa)
{
  ConvnetPackCache *cache;
  struct stat st;
  char *folder, *canonical, *digest, *base, *name;

  if (fd < 0 || fstat (fd, &st) != 0 || !(folder = cache_folder ()))
    return NULL;
  cache = g_new0 (ConvnetPackCache, 1);
  memcpy (cache->identity.magic, MAGIC, 8);
  cache->identity.version = LAYOUT_VERSION;
  cache->identity.size = st.st_size;
  cache->identity.dev = st.st_dev;
  cache->identity.ino = st.st_ino;
  cache->identity.mtime_ns = nanoseconds (&st.st_mtim);
  cache->identity.ctime_ns = nanoseconds (&st.st_ctim);
  g_strlcpy (cache->identity.isa, isa, sizeof cache->identity.isa);
  g_strlcpy (cache->identity.arch, arch, sizeof cache->identity.arch);

  /* one file per weights file path and instruction set */
  canonical = g_canonicalize_filename (path, NULL);
  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, canonical, -1);
  base = g_path_get_basename (path);
  name = g_strdup_printf ("%s-%.16s-%s.pack", base, digest, isa);
  cache->path = g_build_filename (folder, name, NULL);
  g_free (name);
  g_free (base);
  g_free (digest);
  g_free (canonical);
  g_free (folder);

  cache->readings = g_ptr_array_new_with_free_func (convnet_packed_free);
  cache->stored = g_hash_table_new (g_str_hash, g_str_equal);
  cache->added = g_ptr_array_new_with_free_func (added_free);
  return cache;
}

/* Whether the file read at BASE (SIZE bytes) is a cache of this
 * weights file whose every entry lies inside it. */
static gboolean
valid_file (const ConvnetPackCache *cache, const guint8 *base, gsize size)
{
  const FileHeader *header = (const FileHeader *) base;
  const FileEntry *entries = (const FileEntry *) (header + 1);
  FileHeader expected = cache->identity;

  if (size < sizeof *header)
    return FALSE;
  /* every field but the entry count as this weights file's */
  expected.n_entries = header->n_entries;
  if (memcmp (header, &expected, sizeof expected) != 0)
    return FALSE;
  if (header->n_entries > (size - sizeof *header) / sizeof (FileEntry))
    return FALSE;
  for (guint32 i = 0; i < header->n_entries; i++)
    {
      const FileEntry *e = &entries[i];

      if (e->key[KEY_BYTES - 1] != '\0' || e->offset % 64 != 0
          || e->offset > size || e->bytes > size - e->offset)
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  int         fd;
  guint8     *into;
  gsize       size;
  atomic_int  failed;
} ReadJob;

static void
read_chunks (gpointer data, int begin, int end)
{
  ReadJob *job = data;
  gsize at = (gsize) begin * READ_CHUNK;
  const gsize stop = MIN ((gsize) end * READ_CHUNK, job->size);

  while (at < stop && !atomic_load (&job->failed))
    {
      const ssize_t got = pread (job->fd, job->into + at, stop - at, at);

      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        atomic_store (&job->failed, 1);   /* an error, or cut short */
      else
        at += got;
    }
}

/* FD's SIZE bytes, in memory in huge pages, or NULL. */
static guint8 *
read_whole (int fd, gsize size)
{
  ReadJob job = { fd, convnet_packed_alloc_unfaulted (size), size, 0 };

  if (!job.into)
    return NULL;
  convnet_parallel_for ((int) ((size + READ_CHUNK - 1) / READ_CHUNK),
                        read_chunks, &job);
  if (atomic_load (&job.failed))
    {
      convnet_packed_free (job.into);
      return NULL;
    }
  return job.into;
}

/* Reads the cache file, if there is a valid one, into STORED. */
static void
read_file (ConvnetPackCache *cache)
{
  struct stat st;
  const FileHeader *header;
  const FileEntry *entries;
  guint8 *base;
  int fd = g_open (cache->path, O_RDONLY | O_CLOEXEC, 0);

  g_hash_table_remove_all (cache->stored);
  cache->stored_base = NULL;
  cache->read = TRUE;
  if (fd < 0)
    return;
  /* read_whole counts its chunks in an int */
  if (fstat (fd, &st) != 0 || st.st_size <= 0
      || (guint64) st.st_size / READ_CHUNK >= G_MAXINT)
    {
      close (fd);
      return;
    }
  base = read_whole (fd, st.st_size);
  close (fd);
  if (!base)
    return;
  if (!valid_file (cache, base, st.st_size))
    {
      g_debug ("%s: not a packed-weights cache of this weights file; "
               "packing anew", cache->path);
      convnet_packed_free (base);
      return;
    }
  g_ptr_array_add (cache->readings, base);
  cache->stored_base = base;
  header = (const FileHeader *) base;
  entries = (const FileEntry *) (header + 1);
  for (guint32 i = 0; i < header->n_entries; i++)
    g_hash_table_insert (cache->stored, (gpointer) entries[i].key,
                         (gpointer) &entries[i]);
}

void
convnet_pack_cache_free (ConvnetPackCache *cache)
{
  if (!cache)
    return;
  g_hash_table_unref (cache->stored);
  g_ptr_array_unref (cache->added);
  g_ptr_array_unref (cache->readings);
  g_free (cache->path);
  g_free (cache);
}

const void *
convnet_pack_cache_lookup (ConvnetPackCache *cache, const char *key,
                           gsize bytes)
{
  const FileEntry *entry;
  const guint8 *data;

  if (!cache)
    return NULL;
  if (!cache->read)
    read_file (cache);
  entry = g_hash_table_lookup (cache->stored, key);
  if (!entry || entry->bytes != bytes)
    return NULL;
  data = cache->stored_base + entry->offset;
  cache->hits++;
  return data;
}

void
convnet_pack_cache_add (ConvnetPackCache *cache, const char *key,
                        const void *data, gsize bytes)
{
  Added *added;

  if (!cache || strlen (key) >= KEY_BYTES)
    return;
  for (guint i = 0; i < cache->added->len; i++)
    {
      added = g_ptr_array_index (cache->added, i);
      if (strcmp (added->key, key) == 0)
        {
          added->data = data;
          added->bytes = bytes;
          return;
        }
    }
  added = g_new (Added, 1);
  added->key = g_strdup (key);
  added->data = data;
  added->bytes = bytes;
  g_ptr_array_add (cache->added, added);
}

static guint64
round_up (guint64 n, guint64 to)
{
  return (n + to - 1) / to * to;
}

gboolean
convnet_pack_cache_save (ConvnetPackCache *cache, GError **error)
{
  GPtrArray *all;      /* Added: the stored entries kept, then the new */
  FileHeader header;
  FileEntry *entries;
  AtomicFile file;
  guint64 offset;
  gboolean ok = TRUE;
  char *folder;

  if (!cache || cache->added->len == 0)
    return TRUE;
  all = g_ptr_array_new ();
  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, cache->stored);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        const FileEntry *e = value;
        gboolean replaced = FALSE;

        for (guint i = 0; i < cache->added->len && !replaced; i++)
          replaced = strcmp (((Added *) g_ptr_array_index (cache->added, i))
                             ->key, e->key) == 0;
        if (!replaced)
          {
            Added *kept = g_new (Added, 1);

            kept->key = (char *) e->key;   /* the reading's, not freed */
            kept->data = cache->stored_base + e->offset;
            kept->bytes = e->bytes;
            g_ptr_array_add (all, kept);
          }
      }
  }
  {
    const guint n_kept = all->len;

    for (guint i = 0; i < cache->added->len; i++)
      g_ptr_array_add (all, g_ptr_array_index (cache->added, i));

    header = cache->identity;
    header.n_entries = all->len;
    entries = g_new0 (FileEntry, all->len);
    offset = round_up (sizeof header + all->len * sizeof (FileEntry), PAGE);
    for (guint i = 0; i < all->len; i++)
      {
        const Added *a = g_ptr_array_index (all, i);

        g_strlcpy (entries[i].key, a->key, KEY_BYTES);
        entries[i].offset = offset;
        entries[i].bytes = a->bytes;
        offset = round_up (offset + a->bytes, PAGE);
      }

    folder = g_path_get_dirname (cache->path);
    if (g_mkdir_with_parents (folder, 0700) != 0)
      {
        const int saved = errno;

        g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                     "Cannot make the packed-weights cache folder “%s”: %s",
                     folder, g_strerror (saved));
        ok = FALSE;
      }
    g_free (folder);
    if (ok)
      ok = atomic_file_open (&file, cache->path, error);
    if (ok)
      {
        static const guint8 zeros[PAGE];
        guint64 at = sizeof header + all->len * sizeof (FileEntry);

        ok = atomic_file_write (&file, &header, sizeof header, error)
             && atomic_file_write (&file, entries,
                                   all->len * sizeof (FileEntry), error);
        for (guint i = 0; ok && i < all->len; i++)
          {
            const Added *a = g_ptr_array_index (all, i);

            ok = atomic_file_write (&file, zeros, entries[i].offset - at,
                                    error)
                 && atomic_file_write (&file, a->data, a->bytes, error);
            at = entries[i].offset + a->bytes;
          }
        if (ok)
          ok = atomic_file_commit (&file, error);
        else
          atomic_file_abort (&file);
      }
    for (guint i = 0; i < n_kept; i++)
      g_free (g_ptr_array_index (all, i));
    g_ptr_array_unref (all);
    g_free (entries);
  }
  g_ptr_array_set_size (cache->added, 0);
  if (!ok)
    return FALSE;
  /* the new file holds everything: a later lookup (a plan at another
   * batch) reads it, keeping the older readings whose entries packings
   * may still use; reading it now would copy, in memory, the packings
   * this process has just made */
  cache->read = FALSE;
  return TRUE;
}

void
convnet_pack_cache_discard (ConvnetPackCache *cache)
{
  if (cache)
    g_ptr_array_set_size (cache->added, 0);
}

guint
convnet_pack_cache_hits (const ConvnetPackCache *cache)
{
  return cache ? cache->hits : 0;
}

const char *
convnet_pack_cache_path (const ConvnetPackCache *cache)
{
  return cache ? cache->path : NULL;
}
