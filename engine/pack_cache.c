/* pack_cache.c: the packed-weights cache file.  Layout, in the machine's
 * own byte order (the file never leaves the machine that wrote it):
 *   FileHeader, then n_entries FileEntry, then each entry's bytes at a
 *   page-aligned offset.
 * A process maps the file (convnet_file_map_huge) and uses each entry
 * where it lies in the mapping.  It writes the file 2 MB at a time from 2
 * MB boundaries, so that the page cache keeps it in 2 MB pieces, each
 * then mapped as one page (see convnet_file_map_huge for what that
 * saves).  Written in smaller pieces, the file would be mapped in 4 KB
 * pages, slower than reading it into memory as this file once was.
 * The file is only ever replaced by a rename, never changed in place, so
 * a mapping of it stays whole. */
#include "pack_cache.h"
#include "convnet.h"
#include "formats/formats.h"
#include "kernels/kernels.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

/* What the folder's cache files may hold in all: a file is written for
 * each weights file's path, and paths come and go (a test's temporary
 * checkpoints, a fine-tuned model saved again), so without a bound the
 * folder only grows (70 GB of 982 files was found here).  4 GB holds the
 * packings of all the classic networks at once. */
#define FOLDER_MAX_BYTES ((guint64) 4 << 30)

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
/* what the file is written in, from boundaries of as much */
#define WRITE_CHUNK ((gsize) 2 << 20)

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

typedef struct
{
  const guint8 *base;
  gsize         bytes;
} Reading;

struct ConvnetPackCache
{
  char       *path;
  FileHeader  identity;   /* what a valid file's header holds */
  GPtrArray  *readings;   /* Reading: every mapping of the file, kept
                             while entries in it may be in use */
  GHashTable *stored;     /* key -> const FileEntry * in the last reading */
  const guint8 *stored_base;
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

static void
reading_free (gpointer data)
{
  Reading *reading = data;

  convnet_file_unmap (reading->base, reading->bytes);
  g_free (reading);
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

  cache->readings = g_ptr_array_new_with_free_func (reading_free);
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

/* Reads the cache file, if there is a valid one, into STORED. */
static void
read_file (ConvnetPackCache *cache)
{
  struct stat st;
  const FileHeader *header;
  const FileEntry *entries;
  const guint8 *base;
  Reading *reading;
  int fd = g_open (cache->path, O_RDONLY | O_CLOEXEC, 0);

  g_hash_table_remove_all (cache->stored);
  cache->stored_base = NULL;
  cache->read = TRUE;
  if (fd < 0)
    return;
  if (fstat (fd, &st) != 0 || st.st_size <= 0
      || (guint64) st.st_size > G_MAXSIZE)
    {
      close (fd);
      return;
    }
  base = convnet_file_map_huge (fd, st.st_size);
  close (fd);
  if (!base)
    return;
  if (valid_file (cache, base, st.st_size))
    /* used now: the last to go when the folder is pruned */
    g_utime (cache->path, NULL);
  else
    {
      g_debug ("%s: not a packed-weights cache of this weights file; "
               "packing anew", cache->path);
      convnet_file_unmap (base, st.st_size);
      return;
    }
  reading = g_new (Reading, 1);
  reading->base = base;
  reading->bytes = st.st_size;
  g_ptr_array_add (cache->readings, reading);
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

/* Writes to an AtomicFile in whole WRITE_CHUNKs (but for the last), so
 * that each write starts on a chunk boundary. */
typedef struct
{
  AtomicFile *file;
  guint8     *held;      /* WRITE_CHUNK bytes */
  gsize       n_held;
} ChunkWriter;

static gboolean
chunk_writer_add (ChunkWriter *w, const void *data, gsize bytes,
                  GError **error)
{
  const guint8 *p = data;

  while (bytes > 0)
    {
      gsize take;

      /* nothing held means the file ends on a boundary: whole chunks go
       * from DATA as they are */
      if (p && w->n_held == 0 && bytes >= WRITE_CHUNK)
        {
          take = bytes / WRITE_CHUNK * WRITE_CHUNK;
          if (!atomic_file_write (w->file, p, take, error))
            return FALSE;
          p += take;
          bytes -= take;
          continue;
        }
      take = MIN (bytes, WRITE_CHUNK - w->n_held);
      if (p)
        memcpy (w->held + w->n_held, p, take);
      else
        memset (w->held + w->n_held, 0, take);
      w->n_held += take;
      bytes -= take;
      if (p)
        p += take;
      if (w->n_held == WRITE_CHUNK)
        {
          if (!atomic_file_write (w->file, w->held, WRITE_CHUNK, error))
            return FALSE;
          w->n_held = 0;
        }
    }
  return TRUE;
}

static gboolean
chunk_writer_finish (ChunkWriter *w, GError **error)
{
  return atomic_file_write (w->file, w->held, w->n_held, error);
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
        ChunkWriter writer = { &file, g_malloc (WRITE_CHUNK), 0 };
        guint64 at = sizeof header + all->len * sizeof (FileEntry);

        ok = chunk_writer_add (&writer, &header, sizeof header, error)
             && chunk_writer_add (&writer, entries,
                                  all->len * sizeof (FileEntry), error);
        for (guint i = 0; ok && i < all->len; i++)
          {
            const Added *a = g_ptr_array_index (all, i);

            /* NULL data: zeros up to the entry's page */
            ok = chunk_writer_add (&writer, NULL, entries[i].offset - at,
                                   error)
                 && chunk_writer_add (&writer, a->data, a->bytes, error);
            at = entries[i].offset + a->bytes;
          }
        ok = ok && chunk_writer_finish (&writer, error);
        g_free (writer.held);
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
  folder = g_path_get_dirname (cache->path);
  convnet_pack_cache_prune (folder, cache->path, FOLDER_MAX_BYTES);
  g_free (folder);
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

typedef struct
{
  char   *path;
  gint64  mtime_ns;
  guint64 bytes;
} FolderFile;

static gint
older_first (gconstpointer a, gconstpointer b)
{
  const FolderFile *x = a, *y = b;

  return (x->mtime_ns > y->mtime_ns) - (x->mtime_ns < y->mtime_ns);
}

guint
convnet_pack_cache_prune (const char *folder, const char *keep,
                          guint64 max_bytes)
{
  GDir *dir = g_dir_open (folder, 0, NULL);
  GArray *files = g_array_new (FALSE, FALSE, sizeof (FolderFile));
  guint64 total = 0;
  guint removed = 0;
  const char *name;

  if (!dir)
    {
      g_array_unref (files);
      return 0;
    }
  while ((name = g_dir_read_name (dir)))
    {
      FolderFile f = { g_build_filename (folder, name, NULL), 0, 0 };
      GStatBuf st;

      if (!g_str_has_suffix (name, ".pack") || g_lstat (f.path, &st) != 0
          || !S_ISREG (st.st_mode))
        {
          g_free (f.path);
          continue;
        }
      f.mtime_ns = nanoseconds (&st.st_mtim);
      f.bytes = st.st_size;
      total += f.bytes;
      if (keep && strcmp (f.path, keep) == 0)
        g_free (f.path);
      else
        g_array_append_val (files, f);
    }
  g_dir_close (dir);
  g_array_sort (files, older_first);
  for (guint i = 0; i < files->len; i++)
    {
      FolderFile *f = &g_array_index (files, FolderFile, i);

      if (total > max_bytes && g_unlink (f->path) == 0)
        {
          total -= f->bytes;
          removed++;
        }
      g_free (f->path);
    }
  g_array_unref (files);
  return removed;
}
