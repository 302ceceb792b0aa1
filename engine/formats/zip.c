/* zip.c: the central directory of a zip archive held in memory, enough to
 * find the stored entries of a torch checkpoint.
 *
 * Only the central directory is trusted for names and sizes (local headers
 * may defer sizes to a data descriptor); a local header is read only to
 * find where its data starts. */
#include <string.h>

#include "formats.h"

#define SIG_LOCAL        0x04034b50u
#define SIG_CENTRAL      0x02014b50u
#define SIG_END          0x06054b50u
#define SIG_END64        0x06064b50u
#define SIG_END64_LOC    0x07064b50u

#define END_SIZE         22
#define END64_SIZE       56
#define END64_LOC_SIZE   20
#define CENTRAL_SIZE     46
#define LOCAL_SIZE       30

struct ZipArchive
{
  char         *path;
  const guint8 *data;
  gsize         size;
  GArray       *entries;   /* ZipEntry */
  GHashTable   *by_name;   /* name -> GUINT_TO_POINTER (index + 1) */
};

static guint16
get16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
get32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16)
         | ((guint32) p[3] << 24);
}

static guint64
get64 (const guint8 *p)
{
  return (guint64) get32 (p) | ((guint64) get32 (p + 4) << 32);
}

/* Whether [OFFSET, OFFSET + LEN) lies inside a buffer of SIZE bytes. */
static gboolean
span_ok (guint64 offset,
         guint64 len,
         gsize   size)
{
  return offset <= size && len <= size - offset;
}

#define zip_fail(path, error, ...) \
  formats_fail (error, CONVNET_ERROR_FORMAT, path, "zip", __VA_ARGS__)

/* Finds the end-of-central-directory record, scanning back over a comment
 * of at most 65535 bytes. */
static gboolean
find_end (const guint8 *data,
          gsize         size,
          gsize        *end)
{
  gsize lowest;

  if (size < END_SIZE)
    return FALSE;
  lowest = size - END_SIZE > 65535 ? size - END_SIZE - 65535 : 0;
  for (gsize pos = size - END_SIZE + 1; pos-- > lowest;)
    if (get32 (data + pos) == SIG_END
        && get16 (data + pos + 20) <= size - pos - END_SIZE)
      {
        *end = pos;
        return TRUE;
      }
  return FALSE;
}

/* Reads the zip64 values of a central entry: each is present in the extra
 * field only if its 32-bit slot holds the 0xffffffff escape, in this
 * order. */
static gboolean
read_zip64_extra (const char   *path,
                  const char   *name,
                  const guint8 *extra,
                  gsize         extra_len,
                  ZipEntry     *entry,
                  gboolean      need_size,
                  gboolean      need_csize,
                  gboolean      need_offset,
                  GError      **error)
{
  gsize pos = 0;

  while (pos + 4 <= extra_len)
    {
      guint16 id = get16 (extra + pos);
      guint16 len = get16 (extra + pos + 2);
      const guint8 *p = extra + pos + 4;
      guint needed = 8 * (need_size + need_csize + need_offset);

      if (len > extra_len - pos - 4)
        break;
      if (id == 0x0001)
        {
          if (len < needed)
            return zip_fail (path, error,
                             "entry '%s': zip64 extra field of %u bytes "
                             "lacks the %u bytes it needs", name, len, needed);
          if (need_size)
            entry->size = get64 (p), p += 8;
          if (need_csize)
            entry->compressed_size = get64 (p), p += 8;
          if (need_offset)
            entry->local_offset = get64 (p);
          return TRUE;
        }
      pos += 4 + len;
    }
  if (need_size || need_csize || need_offset)
    return zip_fail (path, error, "entry '%s': zip64 extra field missing",
                     name);
  return TRUE;
}

static gboolean
read_central (ZipArchive   *zip,
              guint64       offset,
              guint64       cd_size,
              guint64       count,
              GError      **error)
{
  const guint8 *p = zip->data + offset;
  gsize pos = 0;

  for (guint64 i = 0; i < count; i++)
    {
      ZipEntry entry = { 0 };
      guint16 name_len, extra_len, comment_len, disk;
      guint32 size32, csize32, offset32;

      if (pos + CENTRAL_SIZE > cd_size || get32 (p + pos) != SIG_CENTRAL)
        return zip_fail (zip->path, error,
                         "central directory entry %" G_GUINT64_FORMAT
                         " at offset %" G_GUINT64_FORMAT " is damaged",
                         i, offset + pos);
      entry.flags = get16 (p + pos + 8);
      entry.method = get16 (p + pos + 10);
      csize32 = get32 (p + pos + 20);
      size32 = get32 (p + pos + 24);
      name_len = get16 (p + pos + 28);
      extra_len = get16 (p + pos + 30);
      comment_len = get16 (p + pos + 32);
      disk = get16 (p + pos + 34);
      offset32 = get32 (p + pos + 42);
      if ((guint64) CENTRAL_SIZE + name_len + extra_len + comment_len
          > cd_size - pos)
        return zip_fail (zip->path, error,
                         "central directory entry %" G_GUINT64_FORMAT
                         " runs past the directory's end", i);
      entry.name = g_strndup ((const char *) p + pos + CENTRAL_SIZE, name_len);
      entry.size = size32;
      entry.compressed_size = csize32;
      entry.local_offset = offset32;
      if (strlen (entry.name) != name_len
          || !read_zip64_extra (zip->path, entry.name,
                                p + pos + CENTRAL_SIZE + name_len, extra_len,
                                &entry, size32 == G_MAXUINT32,
                                csize32 == G_MAXUINT32,
                                offset32 == G_MAXUINT32, error))
        {
          if (strlen (entry.name) != name_len)
            zip_fail (zip->path, error, "an entry name holds a NUL byte");
          g_free (entry.name);
          return FALSE;
        }
      if (disk != 0 && disk != G_MAXUINT16)
        {
          zip_fail (zip->path, error, "entry '%s' is on disk %u; "
                    "split archives are not supported", entry.name, disk);
          g_free (entry.name);
          return FALSE;
        }
      if (g_hash_table_contains (zip->by_name, entry.name))
        {
          zip_fail (zip->path, error, "entry '%s' appears twice", entry.name);
          g_free (entry.name);
          return FALSE;
        }
      g_array_append_val (zip->entries, entry);
      g_hash_table_insert (zip->by_name, entry.name,
                           GUINT_TO_POINTER (zip->entries->len));
      pos += CENTRAL_SIZE + name_len + extra_len + comment_len;
    }
  return TRUE;
}

static void
entry_clear (gpointer data)
{
  g_free (((ZipEntry *) data)->name);
}

ZipArchive *
zip_archive_open (const char    *path,
                  const guint8  *data,
                  gsize          size,
                  GError       **error)
{
  ZipArchive *zip;
  gsize end;
  guint64 count, cd_size, cd_offset;

  if (!find_end (data, size, &end))
    {
      zip_fail (path, error, "no end of central directory record "
                "(truncated or not a zip file)");
      return NULL;
    }
  count = get16 (data + end + 10);
  cd_size = get32 (data + end + 12);
  cd_offset = get32 (data + end + 16);
  if (get16 (data + end + 4) != 0 || get16 (data + end + 6) != 0)
    {
      zip_fail (path, error, "split archives are not supported");
      return NULL;
    }

  /* A zip64 locator sits right before the record; its directory values
   * replace the 16- and 32-bit ones. */
  if (end >= END64_LOC_SIZE
      && get32 (data + end - END64_LOC_SIZE) == SIG_END64_LOC)
    {
      guint64 rec = get64 (data + end - END64_LOC_SIZE + 8);

      if (!span_ok (rec, END64_SIZE, end - END64_LOC_SIZE)
          || get32 (data + rec) != SIG_END64)
        {
          zip_fail (path, error, "the zip64 end of central directory record "
                    "at offset %" G_GUINT64_FORMAT " is missing", rec);
          return NULL;
        }
      count = get64 (data + rec + 32);
      cd_size = get64 (data + rec + 40);
      cd_offset = get64 (data + rec + 48);
    }
  else if (count == G_MAXUINT16 || cd_size == G_MAXUINT32
           || cd_offset == G_MAXUINT32)
    {
      zip_fail (path, error, "zip64 values without a zip64 record");
      return NULL;
    }

  if (!span_ok (cd_offset, cd_size, end))
    {
      zip_fail (path, error, "the central directory [%" G_GUINT64_FORMAT
                ", +%" G_GUINT64_FORMAT ") lies outside the file (%"
                G_GSIZE_FORMAT " bytes)", cd_offset, cd_size, size);
      return NULL;
    }
  if (count > cd_size / CENTRAL_SIZE)
    {
      zip_fail (path, error, "%" G_GUINT64_FORMAT " entries cannot fit in a "
                "central directory of %" G_GUINT64_FORMAT " bytes",
                count, cd_size);
      return NULL;
    }

  zip = g_new0 (ZipArchive, 1);
  zip->path = g_strdup (path);
  zip->data = data;
  zip->size = size;
  zip->entries = g_array_new (FALSE, FALSE, sizeof (ZipEntry));
  g_array_set_clear_func (zip->entries, entry_clear);
  zip->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  if (!read_central (zip, cd_offset, cd_size, count, error))
    {
      zip_archive_free (zip);
      return NULL;
    }
  return zip;
}

void
zip_archive_free (ZipArchive *zip)
{
  if (zip == NULL)
    return;
  g_hash_table_unref (zip->by_name);
  g_array_unref (zip->entries);
  g_free (zip->path);
  g_free (zip);
}

guint
zip_archive_n_entries (const ZipArchive *zip)
{
  return zip->entries->len;
}

const ZipEntry *
zip_archive_entry (const ZipArchive *zip,
                   guint             index)
{
  g_return_val_if_fail (index < zip->entries->len, NULL);
  return &g_array_index (zip->entries, ZipEntry, index);
}

const ZipEntry *
zip_archive_find (const ZipArchive *zip,
                  const char       *name)
{
  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (zip->by_name, name));

  return index > 0 ? &g_array_index (zip->entries, ZipEntry, index - 1)
                   : NULL;
}

static const char *
method_name (guint16 method)
{
  switch (method)
    {
    case 8: return "deflate";
    case 9: return "deflate64";
    case 12: return "bzip2";
    case 14: return "lzma";
    case 93: return "zstd";
    case 95: return "xz";
    default: return "unknown";
    }
}

gboolean
zip_entry_data (const ZipArchive *zip,
                const ZipEntry   *entry,
                const guint8    **data,
                gsize            *size,
                GError          **error)
{
  guint64 start;

  if (entry->flags & 0x0001)
    return zip_fail (zip->path, error, "entry '%s' is encrypted",
                     entry->name);
  if (entry->method != 0)
    return zip_fail (zip->path, error,
                     "entry '%s' is compressed (method %u, %s); only stored "
                     "entries are supported, as torch.save writes them",
                     entry->name, entry->method, method_name (entry->method));
  if (entry->compressed_size != entry->size)
    return zip_fail (zip->path, error, "stored entry '%s' has a compressed "
                     "size of %" G_GUINT64_FORMAT " bytes but a size of %"
                     G_GUINT64_FORMAT, entry->name, entry->compressed_size,
                     entry->size);
  if (!span_ok (entry->local_offset, LOCAL_SIZE, zip->size)
      || get32 (zip->data + entry->local_offset) != SIG_LOCAL)
    return zip_fail (zip->path, error, "entry '%s': no local header at "
                     "offset %" G_GUINT64_FORMAT, entry->name,
                     entry->local_offset);
  start = entry->local_offset + LOCAL_SIZE
          + get16 (zip->data + entry->local_offset + 26)
          + get16 (zip->data + entry->local_offset + 28);
  if (!span_ok (start, entry->size, zip->size))
    return zip_fail (zip->path, error, "entry '%s': data [%" G_GUINT64_FORMAT
                     ", +%" G_GUINT64_FORMAT ") runs past the end of the "
                     "file (%" G_GSIZE_FORMAT " bytes; truncated?)",
                     entry->name, start, entry->size, zip->size);
  *data = zip->data + start;
  *size = entry->size;
  return TRUE;
}
