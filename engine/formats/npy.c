/* npy.c: NumPy's .npy arrays, float32 and float64 in C order.
 *
 * The header is a Python dict literal; we parse the little of Python it
 * uses (strings, True/False, a tuple of ints) rather than trust it. */
#include <string.h>

#include "formats.h"

static const char npy_magic[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

typedef struct
{
  const char *path;
  const char *start;
  const char *p;
  const char *end;
  GError    **error;
} HeaderParser;

#define npy_fail(path, error, ...) \
  formats_fail (error, CONVNET_ERROR_FORMAT, path, "npy", __VA_ARGS__)

static void
skip_space (HeaderParser *hp)
{
  while (hp->p < hp->end && g_ascii_isspace (*hp->p))
    hp->p++;
}

static gboolean
expect (HeaderParser *hp,
        char          c)
{
  skip_space (hp);
  if (hp->p >= hp->end || *hp->p != c)
    return npy_fail (hp->path, hp->error, "the header lacks '%c' at byte %d",
                     c, (int) (hp->p - hp->start));
  hp->p++;
  return TRUE;
}

static gboolean
accept (HeaderParser *hp,
        char          c)
{
  skip_space (hp);
  if (hp->p < hp->end && *hp->p == c)
    {
      hp->p++;
      return TRUE;
    }
  return FALSE;
}

/* A quoted string without escapes: all numpy writes. */
static char *
parse_string (HeaderParser *hp)
{
  const char *start;
  char quote;

  skip_space (hp);
  if (hp->p >= hp->end || (*hp->p != '\'' && *hp->p != '"'))
    {
      npy_fail (hp->path, hp->error, "the header has no string where one is "
                "expected");
      return NULL;
    }
  quote = *hp->p++;
  start = hp->p;
  while (hp->p < hp->end && *hp->p != quote && *hp->p != '\\')
    hp->p++;
  if (hp->p >= hp->end || *hp->p != quote)
    {
      npy_fail (hp->path, hp->error, "an unterminated or escaped string in "
                "the header");
      return NULL;
    }
  hp->p++;
  return g_strndup (start, hp->p - 1 - start);
}

static gboolean
parse_bool (HeaderParser *hp,
            gboolean     *value)
{
  skip_space (hp);
  if (hp->end - hp->p >= 4 && memcmp (hp->p, "True", 4) == 0)
    {
      hp->p += 4;
      *value = TRUE;
      return TRUE;
    }
  if (hp->end - hp->p >= 5 && memcmp (hp->p, "False", 5) == 0)
    {
      hp->p += 5;
      *value = FALSE;
      return TRUE;
    }
  return npy_fail (hp->path, hp->error, "fortran_order is not True or False");
}

static gboolean
parse_shape (HeaderParser *hp,
             int          *ndim,
             int64_t      *shape)
{
  *ndim = 0;
  if (!expect (hp, '('))
    return FALSE;
  while (!accept (hp, ')'))
    {
      guint64 v = 0;
      const char *start;

      if (*ndim == CONVNET_MAX_DIMS)
        {
          g_set_error (hp->error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                       "%s: npy: more than %d dimensions", hp->path,
                       CONVNET_MAX_DIMS);
          return FALSE;
        }
      skip_space (hp);
      start = hp->p;
      while (hp->p < hp->end && g_ascii_isdigit (*hp->p))
        {
          if (v > (G_MAXINT64 - 9) / 10)
            return npy_fail (hp->path, hp->error, "a dimension is too large");
          v = v * 10 + (*hp->p++ - '0');
        }
      if (hp->p == start)
        return npy_fail (hp->path, hp->error, "the shape is not a tuple of "
                         "non-negative integers");
      if (hp->p < hp->end && *hp->p == 'L')   /* Python 2 long */
        hp->p++;
      shape[(*ndim)++] = (int64_t) v;
      if (!accept (hp, ','))
        {
          if (!expect (hp, ')'))
            return FALSE;
          break;
        }
    }
  return TRUE;
}

static gboolean
parse_header (HeaderParser *hp,
              char        **descr,
              gboolean     *fortran,
              int          *ndim,
              int64_t      *shape)
{
  guint seen = 0;

  if (!expect (hp, '{'))
    return FALSE;
  while (!accept (hp, '}'))
    {
      char *key = parse_string (hp);
      gboolean ok;

      if (key == NULL || !expect (hp, ':'))
        {
          g_free (key);
          return FALSE;
        }
      if (strcmp (key, "descr") == 0 && !(seen & 1))
        ok = (*descr = parse_string (hp)) != NULL, seen |= 1;
      else if (strcmp (key, "fortran_order") == 0 && !(seen & 2))
        ok = parse_bool (hp, fortran), seen |= 2;
      else if (strcmp (key, "shape") == 0 && !(seen & 4))
        ok = parse_shape (hp, ndim, shape), seen |= 4;
      else
        ok = npy_fail (hp->path, hp->error, "unexpected or repeated key '%s' "
                       "in the header", key);
      g_free (key);
      if (!ok)
        return FALSE;
      if (!accept (hp, ','))
        {
          if (!expect (hp, '}'))
            return FALSE;
          break;
        }
    }
  skip_space (hp);
  if (hp->p != hp->end)
    return npy_fail (hp->path, hp->error, "text after the header's dict");
  if (seen != 7)
    return npy_fail (hp->path, hp->error, "the header lacks descr, "
                     "fortran_order or shape");
  return TRUE;
}

gboolean
npy_parse (const char   *path,
           const guint8 *data,
           gsize         size,
           int          *ndim,
           int64_t      *shape,
           float       **out,
           GError      **error)
{
  HeaderParser hp = { path, NULL, NULL, NULL, error };
  char *descr = NULL;
  gboolean fortran = FALSE, ok;
  gsize prefix, header_len, elsize = 0;
  guint64 numel = 0;
  int bad_dim;

  if (size < 10 || memcmp (data, npy_magic, 6) != 0)
    return npy_fail (path, error, "not a .npy file (no \\x93NUMPY magic)");
  if (data[6] == 1)
    {
      prefix = 10;
      header_len = data[8] | (data[9] << 8);
    }
  else if ((data[6] == 2 || data[6] == 3) && size >= 12)
    {
      prefix = 12;
      header_len = data[8] | (data[9] << 8) | ((gsize) data[10] << 16)
                   | ((gsize) data[11] << 24);
    }
  else
    return npy_fail (path, error, "unsupported format version %u.%u",
                     data[6], data[7]);
  if (header_len > size - prefix)
    return npy_fail (path, error, "the header of %" G_GSIZE_FORMAT " bytes "
                     "runs past the end of the file (truncated?)",
                     header_len);

  hp.start = hp.p = (const char *) data + prefix;
  hp.end = hp.p + header_len;
  ok = parse_header (&hp, &descr, &fortran, ndim, shape);
  if (ok)
    {
      if (strcmp (descr, "<f4") == 0)
        elsize = 4;
      else if (strcmp (descr, "<f8") == 0)
        elsize = 8;
      else
        ok = npy_fail (path, error, "unsupported dtype '%s' (only '<f4' and "
                       "'<f8' are read)", descr);
    }
  if (ok && fortran)
    ok = npy_fail (path, error, "the array is in Fortran order; only C order "
                   "is supported");
  if (ok && !formats_checked_numel (shape, *ndim, elsize, &numel, &bad_dim))
    ok = npy_fail (path, error, "the element count of the shape overflows");
  if (ok && (numel * elsize != size - prefix - header_len))
    ok = npy_fail (path, error, "the data has %" G_GSIZE_FORMAT " bytes but "
                   "the shape needs %" G_GUINT64_FORMAT " (truncated?)",
                   size - prefix - header_len, numel * elsize);
  g_free (descr);
  if (!ok)
    return FALSE;

  data += prefix + header_len;
  *out = g_new (float, MAX (numel, 1));
  for (gsize i = 0; i < numel; i++)
    {
      if (elsize == 4)
        {
          guint32 u;

          memcpy (&u, data + 4 * i, 4);
          u = GUINT32_FROM_LE (u);
          memcpy (*out + i, &u, 4);
        }
      else
        {
          guint64 u;
          double d;

          memcpy (&u, data + 8 * i, 8);
          u = GUINT64_FROM_LE (u);
          memcpy (&d, &u, 8);
          (*out)[i] = (float) d;
        }
    }
  return TRUE;
}

gboolean
convnet_npy_read (const char *path,
                  int        *ndim,
                  int64_t     shape[CONVNET_MAX_DIMS],
                  float     **data,
                  GError    **error)
{
  GMappedFile *mapped;
  GError *local = NULL;
  int64_t my_shape[CONVNET_MAX_DIMS] = { 0 };
  int my_ndim = 0;
  float *out = NULL;
  gboolean ok;

  g_return_val_if_fail (path != NULL && ndim != NULL && shape != NULL
                        && data != NULL, FALSE);

  /* mapping a folder fails with an obscure "No such device" */
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "%s: is a folder, not a file", path);
      return FALSE;
    }
  mapped = g_mapped_file_new (path, FALSE, &local);
  if (mapped == NULL)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO, "%s: %s", path,
                   local->message);
      g_error_free (local);
      return FALSE;
    }
  ok = npy_parse (path, (const guint8 *) g_mapped_file_get_contents (mapped),
                  g_mapped_file_get_length (mapped), &my_ndim, my_shape,
                  &out, error);
  g_mapped_file_unref (mapped);
  if (!ok)
    return FALSE;
  *ndim = my_ndim;
  memcpy (shape, my_shape, sizeof my_shape);
  *data = out;
  return TRUE;
}

gboolean
convnet_npy_write (const char    *path,
                   int            ndim,
                   const int64_t *shape,
                   const float   *data,
                   GError       **error)
{
  AtomicFile file;
  GString *header;
  guint64 numel = 0;
  guint8 prefix[10];
  int bad_dim;
  gboolean ok;

  g_return_val_if_fail (path != NULL, FALSE);

  if (ndim < 0 || ndim > CONVNET_MAX_DIMS || (ndim > 0 && shape == NULL)
      || !formats_checked_numel (shape, ndim, sizeof (float), &numel,
                                 &bad_dim)
      || (numel > 0 && data == NULL))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: npy: a bad shape or missing data (%d dimensions)",
                   path, ndim);
      return FALSE;
    }

  header = g_string_new ("{'descr': '<f4', 'fortran_order': False, "
                         "'shape': (");
  for (int d = 0; d < ndim; d++)
    g_string_append_printf (header, "%s%" G_GINT64_FORMAT,
                            d > 0 ? ", " : "", (gint64) shape[d]);
  g_string_append (header, ndim == 1 ? ",), }" : "), }");
  /* Pad with spaces and a newline so the data starts 64-byte aligned, as
   * numpy does. */
  while ((sizeof prefix + header->len + 1) % 64 != 0)
    g_string_append_c (header, ' ');
  g_string_append_c (header, '\n');

  memcpy (prefix, npy_magic, 6);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix[8] = header->len & 0xff;
  prefix[9] = header->len >> 8;

  ok = atomic_file_open (&file, path, error)
       && atomic_file_write (&file, prefix, sizeof prefix, error)
       && atomic_file_write (&file, header->str, header->len, error)
       && atomic_file_write_f32 (&file, data, numel, error)
       && atomic_file_commit (&file, error);
  g_string_free (header, TRUE);
  return ok;
}
