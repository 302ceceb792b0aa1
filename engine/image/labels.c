/* labels.c: class-label files and the data directory they live in.
 *
 * A label file is one class name a line, line N naming output N of the
 * model.  A blank line would silently shift every later name onto the
 * wrong class, so it is an error rather than skipped. */
#include "convnet.h"

#include <string.h>

/* A label file of a thousand classes is a few kilobytes; anything this
 * large is not one. */
#define MAX_LABEL_FILE (16 * 1024 * 1024)

static void
set_line_error (GError     **error,
                int          code,
                const char  *path,
                guint        line,
                const char  *what)
{
  char *name = g_filename_display_name (path);

  g_set_error (error, CONVNET_ERROR, code, "%s:%u: %s", name, line, what);
  g_free (name);
}

static gboolean
is_blank (const char *s,
          gsize       len)
{
  gsize i;

  for (i = 0; i < len; i++)
    if (!g_ascii_isspace (s[i]))
      return FALSE;
  return TRUE;
}

char **
convnet_labels_load (const char *path,
                     guint      *n_labels,
                     GError    **error)
{
  GPtrArray  *labels;
  GError     *inner = NULL;
  char       *contents;
  gsize       length;
  const char *end, *line;
  guint       line_no;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (n_labels != NULL)
    *n_labels = 0;

  if (!g_file_get_contents (path, &contents, &length, &inner))
    {
      char *name = g_filename_display_name (path);

      /* GLib's message already names the file. */
      if (strstr (inner->message, name) != NULL)
        g_set_error_literal (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                             inner->message);
      else
        g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                     "Cannot read labels “%s”: %s", name, inner->message);
      g_free (name);
      g_error_free (inner);
      return NULL;
    }

  if (length > MAX_LABEL_FILE)
    {
      set_line_error (error, CONVNET_ERROR_LIMIT, path, 1,
                      "file too large for a label list");
      g_free (contents);
      return NULL;
    }
  if (length == 0)
    {
      set_line_error (error, CONVNET_ERROR_FORMAT, path, 1,
                      "empty label file");
      g_free (contents);
      return NULL;
    }
  if (!g_utf8_validate_len (contents, length, &end))
    {
      guint bad_line = 1;
      const char *p;

      for (p = contents; p < end; p++)
        if (*p == '\n')
          bad_line++;
      set_line_error (error, CONVNET_ERROR_FORMAT, path, bad_line,
                      "not valid UTF-8 text");
      g_free (contents);
      return NULL;
    }

  labels = g_ptr_array_new_with_free_func (g_free);
  end = contents + length;
  /* One final newline ends the last line rather than starting an empty
   * one. */
  if (end[-1] == '\n')
    end--;

  for (line = contents, line_no = 1; line <= end; line_no++)
    {
      const char *eol = memchr (line, '\n', end - line);
      gsize       len;

      if (eol == NULL)
        eol = end;
      len = eol - line;
      /* Files written on Windows end their lines with CR LF. */
      if (len > 0 && line[len - 1] == '\r')
        len--;
      if (is_blank (line, len))
        {
          set_line_error (error, CONVNET_ERROR_FORMAT, path, line_no,
                          "empty label");
          g_ptr_array_free (labels, TRUE);
          g_free (contents);
          return NULL;
        }
      g_ptr_array_add (labels, g_strndup (line, len));
      line = eol + 1;
    }

  g_free (contents);
  if (n_labels != NULL)
    *n_labels = labels->len;
  g_ptr_array_add (labels, NULL);
  return (char **) g_ptr_array_free (labels, FALSE);
}

const char *
convnet_data_dir (void)
{
  const char *env = g_getenv ("CONVNET_DATA_DIR");

  if (env != NULL && env[0] != '\0')
    /* Interned so the pointer stays valid if the variable changes later. */
    return g_intern_string (env);
  if (g_file_test (CONVNET_DATADIR, G_FILE_TEST_IS_DIR))
    return CONVNET_DATADIR;
  return CONVNET_SOURCE_DATADIR;
}
