/* weight_file.c: opening a weights file of any supported format, the
 * tensors' conversion to float32, and atomic writes.
 *
 * The file is mapped once; every ConvnetTensorEntry's data points into
 * that mapping (or the bytes given to weight_file_open_bytes) and its
 * name into the file's string chunk, so entries stay valid exactly until
 * convnet_weight_file_free().  A graph that uses float32 tensors where
 * they lie gets its own private view of the file (weight_file_private_view),
 * so that what it writes into its parameters reaches neither the file nor
 * these entries. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "formats.h"

struct ConvnetWeightFile
{
  char         *path;
  GBytes       *bytes;     /* the mapping, or the caller's data */
  int           fd;        /* the mapped file, for private views; or -1 */
  GArray       *entries;
  GHashTable   *by_name;
  GStringChunk *names;
  GHashTable   *metadata;
};

/* ------------------------------------------------------------ helpers */

gboolean
formats_checked_numel (const int64_t *shape,
                       int            ndim,
                       gsize          element_size,
                       guint64       *numel,
                       int           *bad_dim)
{
  guint64 n = 1, bytes;
  gboolean overflow = FALSE, empty = FALSE;

  *bad_dim = -1;
  for (int d = 0; d < ndim; d++)
    {
      if (shape[d] < 0)
        {
          *bad_dim = d;
          return FALSE;
        }
      if (shape[d] == 0)
        empty = TRUE;
      else
        overflow |= !g_uint64_checked_mul (&n, n, (guint64) shape[d]);
    }
  /* An empty tensor may have other huge dimensions; it holds nothing. */
  if (empty)
    {
      *numel = 0;
      return TRUE;
    }
  if (overflow || n > G_MAXINT64
      || !g_uint64_checked_mul (&bytes, n, element_size) || bytes > G_MAXSIZE)
    return FALSE;
  *numel = n;
  return TRUE;
}

char *
formats_shape_string (const int64_t *shape,
                      int            ndim)
{
  GString *s = g_string_new ("[");

  for (int d = 0; d < ndim; d++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d > 0 ? ", " : "",
                            (gint64) shape[d]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gboolean
weight_file_builder_add (WeightFileBuilder        *builder,
                         const ConvnetTensorEntry *entry,
                         GError                  **error)
{
  ConvnetTensorEntry copy = *entry;

  if (g_hash_table_contains (builder->by_name, entry->name))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                   "%s: tensor '%s' appears twice", builder->path,
                   entry->name);
      return FALSE;
    }
  copy.name = g_string_chunk_insert (builder->names, entry->name);
  g_array_append_val (builder->entries, copy);
  g_hash_table_insert (builder->by_name, (gpointer) copy.name,
                       GUINT_TO_POINTER (builder->entries->len));
  return TRUE;
}

/* --------------------------------------------------------------- open */

ConvnetWeightFile *
weight_file_open_bytes (const char    *path,
                        GBytes        *bytes,
                        WeightFormat   format,
                        GError       **error)
{
  static const guint8 zip_sig[4] = { 'P', 'K', 3, 4 };
  ConvnetWeightFile *file;
  WeightFileBuilder b = { 0 };
  gboolean ok;

  b.path = path;
  b.data = g_bytes_get_data (bytes, &b.size);
  b.entries = g_array_new (FALSE, FALSE, sizeof (ConvnetTensorEntry));
  b.by_name = g_hash_table_new (g_str_hash, g_str_equal);
  b.names = g_string_chunk_new (1024);

  if (format == WEIGHT_FORMAT_DETECT && b.data != NULL && b.size > 0)
    {
      if (b.size >= 4 && memcmp (b.data, zip_sig, 4) == 0)
        format = WEIGHT_FORMAT_TORCH_ZIP;
      /* Before the pickle test: a header of 640 bytes starts 0x80 0x02
       * too, while byte 8 of a legacy file is inside its magic number. */
      else if (b.size >= 9 && b.data[8] == '{')
        format = WEIGHT_FORMAT_SAFETENSORS;
      else if (b.size >= 2 && b.data[0] == 0x80 && b.data[1] >= 2
               && b.data[1] <= 5)
        format = WEIGHT_FORMAT_TORCH_LEGACY;
    }

  if (b.data == NULL || b.size == 0)
    ok = (g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                       "%s: the file is empty", path), FALSE);
  else if (format == WEIGHT_FORMAT_TORCH_ZIP)
    ok = torch_zip_load (&b, error);
  else if (format == WEIGHT_FORMAT_SAFETENSORS)
    ok = safetensors_load (&b, error);
  else if (format == WEIGHT_FORMAT_TORCH_LEGACY)
    ok = torch_legacy_load (&b, error);
  else
    {
      char head[8 * 3 + 1] = "";

      for (gsize i = 0; i < MIN (b.size, 8); i++)
        g_snprintf (head + 3 * i, sizeof head - 3 * i, " %02x", b.data[i]);
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                   "%s: not a torch checkpoint (zip or legacy) nor a "
                   "safetensors file (it starts with%s)", path, head);
      ok = FALSE;
    }

  if (!ok)
    {
      if (b.metadata != NULL)
        g_hash_table_unref (b.metadata);
      g_string_chunk_free (b.names);
      g_hash_table_unref (b.by_name);
      g_array_unref (b.entries);
      return NULL;
    }

  file = g_new0 (ConvnetWeightFile, 1);
  file->path = g_strdup (path);
  file->bytes = g_bytes_ref (bytes);
  file->fd = -1;
  file->entries = b.entries;
  file->by_name = b.by_name;
  file->names = b.names;
  file->metadata = b.metadata;
  return file;
}

typedef struct
{
  void  *address;
  gsize  size;
} Mapping;

static void
mapping_free (gpointer data)
{
  Mapping *mapping = data;

  munmap (mapping->address, mapping->size);
  g_free (mapping);
}

/* SIZE bytes of FD mapped privately, as bytes that unmap them when freed;
 * NULL with errno set when the mapping fails. */
static GBytes *
map_private (int      fd,
             gsize    size,
             gboolean writable)
{
  Mapping *mapping;
  void *address = mmap (NULL, size, PROT_READ | (writable ? PROT_WRITE : 0),
                        MAP_PRIVATE, fd, 0);

  if (address == MAP_FAILED)
    return NULL;
  mapping = g_new (Mapping, 1);
  mapping->address = address;
  mapping->size = size;
  return g_bytes_new_with_free_func (address, size, mapping_free, mapping);
}

ConvnetWeightFile *
convnet_weight_file_open (const char *path,
                          GError    **error)
{
  ConvnetWeightFile *file;
  GBytes *bytes;
  struct stat st;
  int fd, saved;

  g_return_val_if_fail (path != NULL, NULL);

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fstat (fd, &st) != 0)
    {
      saved = errno;
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO, "%s: %s", path,
                   g_strerror (saved));
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "%s: is a folder, not a file", path);
      close (fd);
      return NULL;
    }
  if ((guint64) st.st_size > G_MAXSIZE)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                   "%s: too large to map", path);
      close (fd);
      return NULL;
    }
  if (st.st_size == 0)
    bytes = g_bytes_new (NULL, 0);
  else if (!(bytes = map_private (fd, st.st_size, FALSE)))
    {
      saved = errno;
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "%s: cannot map the file: %s", path, g_strerror (saved));
      close (fd);
      return NULL;
    }
  file = weight_file_open_bytes (path, bytes, WEIGHT_FORMAT_DETECT, error);
  g_bytes_unref (bytes);
  if (file == NULL)
    close (fd);
  else
    file->fd = fd;
  return file;
}

static gboolean
is_row_major (const ConvnetTensorEntry *entry)
{
  int64_t expected = 1;

  /* a dimension of one may carry any stride */
  for (int d = entry->ndim - 1; d >= 0; d--)
    {
      if (entry->shape[d] != 1 && entry->strides[d] != expected)
        return FALSE;
      expected *= entry->shape[d];
    }
  return TRUE;
}

GBytes *
weight_file_private_view (const ConvnetWeightFile *file)
{
  gsize size = g_bytes_get_size (file->bytes);

  if (file->fd < 0 || size == 0)
    return NULL;
  return map_private (file->fd, size, TRUE);
}

int
weight_file_fd (const ConvnetWeightFile *file)
{
  return file->fd;
}

gboolean
weight_file_entry_in_place (const ConvnetWeightFile  *file,
                            const ConvnetTensorEntry *entry,
                            gsize                    *offset)
{
  gsize size;
  const guint8 *base = g_bytes_get_data (file->bytes, &size);

  if (G_BYTE_ORDER != G_LITTLE_ENDIAN || entry->dtype != CONVNET_DTYPE_F32
      || entry->data < base || entry->data >= base + size
      || !is_row_major (entry))
    return FALSE;
  *offset = entry->data - base;
  /* the mapping starts on a page, so the offset decides the alignment */
  return *offset % sizeof (float) == 0;
}

void
convnet_weight_file_free (ConvnetWeightFile *file)
{
  if (file == NULL)
    return;
  if (file->metadata != NULL)
    g_hash_table_unref (file->metadata);
  g_hash_table_unref (file->by_name);
  g_string_chunk_free (file->names);
  g_array_unref (file->entries);
  g_bytes_unref (file->bytes);
  if (file->fd >= 0)
    close (file->fd);
  g_free (file->path);
  g_free (file);
}

const char *
convnet_weight_file_path (const ConvnetWeightFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  return file->path;
}

guint
convnet_weight_file_n_tensors (const ConvnetWeightFile *file)
{
  g_return_val_if_fail (file != NULL, 0);
  return file->entries->len;
}

const ConvnetTensorEntry *
convnet_weight_file_tensor (const ConvnetWeightFile *file,
                            guint                    index)
{
  g_return_val_if_fail (file != NULL, NULL);
  if (index >= file->entries->len)
    return NULL;
  return &g_array_index (file->entries, ConvnetTensorEntry, index);
}

const ConvnetTensorEntry *
convnet_weight_file_lookup (const ConvnetWeightFile *file,
                            const char              *name)
{
  guint index;

  g_return_val_if_fail (file != NULL && name != NULL, NULL);
  index = GPOINTER_TO_UINT (g_hash_table_lookup (file->by_name, name));
  return index > 0 ? &g_array_index (file->entries, ConvnetTensorEntry,
                                     index - 1)
                   : NULL;
}

GHashTable *
convnet_weight_file_metadata (const ConvnetWeightFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  return file->metadata;
}

/* ------------------------------------------------------- conversion */

/* Half to float is exact: every half, subnormals included, is a float. */
static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  guint32 bits;
  float f;

  if (exp == 0x1f)
    bits = sign | 0x7f800000u | (mant << 13);
  else if (exp != 0)
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  else if (mant == 0)
    bits = sign;
  else
    {
      /* Subnormal: shift the leading 1 up to the implicit position. */
      exp = 113;
      while (!(mant & 0x400))
        {
          mant <<= 1;
          exp--;
        }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  memcpy (&f, &bits, sizeof f);
  return f;
}

/* Loads element P of DTYPE, which may be unaligned, as a float. */
static float
load_f32 (const guint8 *p,
          ConvnetDType  dtype)
{
  guint16 u16;
  guint32 u32;
  guint64 u64;
  float f;
  double d;

  switch (dtype)
    {
    case CONVNET_DTYPE_F32:
      memcpy (&u32, p, 4);
      u32 = GUINT32_FROM_LE (u32);
      memcpy (&f, &u32, 4);
      return f;
    case CONVNET_DTYPE_F16:
      memcpy (&u16, p, 2);
      return half_to_float (GUINT16_FROM_LE (u16));
    case CONVNET_DTYPE_BF16:
      memcpy (&u16, p, 2);
      u32 = (guint32) GUINT16_FROM_LE (u16) << 16;
      memcpy (&f, &u32, 4);
      return f;
    case CONVNET_DTYPE_F64:
      memcpy (&u64, p, 8);
      u64 = GUINT64_FROM_LE (u64);
      memcpy (&d, &u64, 8);
      return (float) d;
    case CONVNET_DTYPE_I64:
      memcpy (&u64, p, 8);
      return (float) (gint64) GUINT64_FROM_LE (u64);
    case CONVNET_DTYPE_I32:
      memcpy (&u32, p, 4);
      return (float) (gint32) GUINT32_FROM_LE (u32);
    case CONVNET_DTYPE_I16:
      memcpy (&u16, p, 2);
      return (float) (gint16) GUINT16_FROM_LE (u16);
    case CONVNET_DTYPE_I8:
      return (float) (gint8) p[0];
    case CONVNET_DTYPE_U8:
      return (float) p[0];
    case CONVNET_DTYPE_BOOL:
      return p[0] != 0 ? 1.0f : 0.0f;
    }
  return 0.0f;
}

gsize
convnet_tensor_entry_numel (const ConvnetTensorEntry *entry)
{
  gsize n = 1;

  g_return_val_if_fail (entry != NULL, 0);
  for (int d = 0; d < entry->ndim; d++)
    n *= (gsize) entry->shape[d];
  return n;
}

gboolean
convnet_tensor_entry_to_f32 (const ConvnetTensorEntry *entry,
                             float                    *dst,
                             gsize                     n,
                             GError                  **error)
{
  gsize numel, elsize, inner, done = 0;
  int64_t index[CONVNET_MAX_DIMS] = { 0 };
  gboolean row_major;
  int last;

  g_return_val_if_fail (entry != NULL, FALSE);
  g_return_val_if_fail (entry->ndim >= 0 && entry->ndim <= CONVNET_MAX_DIMS,
                        FALSE);

  numel = convnet_tensor_entry_numel (entry);
  if (n != numel)
    {
      char *shape = formats_shape_string (entry->shape, entry->ndim);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "tensor '%s': %" G_GSIZE_FORMAT " floats requested but "
                   "its shape %s holds %" G_GSIZE_FORMAT,
                   entry->name != NULL ? entry->name : "?", n, shape, numel);
      g_free (shape);
      return FALSE;
    }
  if (numel == 0)
    return TRUE;
  elsize = convnet_dtype_size (entry->dtype);
  if (entry->ndim == 0)
    {
      dst[0] = load_f32 (entry->data, entry->dtype);
      return TRUE;
    }

  /* Rows along the last dimension, the other dimensions as an odometer;
   * a row-major tensor is one row, which spares a 3x3 convolution's
   * weights a call per three floats. */
  last = entry->ndim - 1;
  row_major = is_row_major (entry);
  inner = row_major ? numel : (gsize) entry->shape[last];
  while (done < numel)
    {
      const guint8 *p = entry->data;
      gsize step = row_major ? elsize : (gsize) entry->strides[last] * elsize;

      for (int d = 0; d < last; d++)
        p += (gsize) (index[d] * entry->strides[d]) * elsize;
      if (entry->dtype == CONVNET_DTYPE_F32 && step == 4
          && G_BYTE_ORDER == G_LITTLE_ENDIAN)
        memcpy (dst + done, p, inner * 4);
      else
        for (gsize i = 0; i < inner; i++, p += step)
          dst[done + i] = load_f32 (p, entry->dtype);
      done += inner;
      for (int d = last - 1; d >= 0; d--)
        {
          if (++index[d] < entry->shape[d])
            break;
          index[d] = 0;
        }
    }
  return TRUE;
}

/* ------------------------------------------------------- atomic files */

gboolean
atomic_file_open (AtomicFile  *file,
                  const char  *path,
                  GError     **error)
{
  char *dir, *base;
  int saved;

  memset (file, 0, sizeof *file);
  file->fd = -1;
  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  file->path = g_strdup (path);
  file->tmp_path = g_strdup_printf ("%s%c.%s.tmp-XXXXXX", dir,
                                    G_DIR_SEPARATOR, base);
  g_free (dir);
  g_free (base);
  /* 0666 so that the umask decides, as for any new file. */
  file->fd = g_mkstemp_full (file->tmp_path, O_WRONLY | O_CLOEXEC, 0666);
  if (file->fd < 0)
    {
      saved = errno;
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "%s: cannot create a temporary file next to it: %s", path,
                   g_strerror (saved));
      g_clear_pointer (&file->tmp_path, g_free);
      g_clear_pointer (&file->path, g_free);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_fail (AtomicFile *file,
            int         saved,
            GError    **error)
{
  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO, "%s: writing failed: %s",
               file->path, g_strerror (saved));
  atomic_file_abort (file);
  return FALSE;
}

gboolean
atomic_file_write (AtomicFile  *file,
                   const void  *data,
                   gsize        size,
                   GError     **error)
{
  const guint8 *p = data;

  while (size > 0)
    {
      gssize n = write (file->fd, p, MIN (size, (gsize) 1 << 30));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return write_fail (file, n < 0 ? errno : ENOSPC, error);
      p += n;
      size -= n;
    }
  return TRUE;
}

gboolean
atomic_file_write_f32 (AtomicFile  *file,
                       const float *data,
                       gsize        n,
                       GError     **error)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  return atomic_file_write (file, data, n * sizeof (float), error);
#else
  guint32 buf[4096];

  while (n > 0)
    {
      gsize chunk = MIN (n, G_N_ELEMENTS (buf));

      memcpy (buf, data, chunk * 4);
      for (gsize i = 0; i < chunk; i++)
        buf[i] = GUINT32_TO_LE (buf[i]);
      if (!atomic_file_write (file, buf, chunk * 4, error))
        return FALSE;
      data += chunk;
      n -= chunk;
    }
  return TRUE;
#endif
}

gboolean
atomic_file_commit (AtomicFile  *file,
                    GError     **error)
{
  char *dir;
  int dfd;

  /* The data must be on disk before the rename makes it visible, or a
   * crash could leave an empty file under the final name. */
  if (fsync (file->fd) != 0 && errno != EINVAL)
    return write_fail (file, errno, error);
  if (close (file->fd) != 0)
    {
      file->fd = -1;
      return write_fail (file, errno, error);
    }
  file->fd = -1;
  if (g_rename (file->tmp_path, file->path) != 0)
    return write_fail (file, errno, error);

  dir = g_path_get_dirname (file->path);
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      fsync (dfd);
      close (dfd);
    }
  g_free (dir);
  g_clear_pointer (&file->tmp_path, g_free);
  g_clear_pointer (&file->path, g_free);
  return TRUE;
}

void
atomic_file_abort (AtomicFile *file)
{
  if (file->fd >= 0)
    close (file->fd);
  file->fd = -1;
  if (file->tmp_path != NULL)
    g_unlink (file->tmp_path);
  g_clear_pointer (&file->tmp_path, g_free);
  g_clear_pointer (&file->path, g_free);
}

gboolean
formats_fail (GError **error, int code, const char *path, const char *kind,
              const char *format, ...)
{
  va_list args;
  char *msg;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  if (kind)
    g_set_error (error, CONVNET_ERROR, code, "%s: %s: %s", path, kind, msg);
  else
    g_set_error (error, CONVNET_ERROR, code, "%s: %s", path, msg);
  g_free (msg);
  return FALSE;
}
