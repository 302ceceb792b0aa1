/* text_file.c: a text file written whole and atomically, with an error
 * that names the file the caller asked for.  GLib's own message names its
 * temporary file (FILE.XXXXXX), which the user never saw. */
#include "convnet.h"

gboolean
convnet_text_file_write (const char *path, const char *what,
                         const GString *text, GError **error)
{
  GError *inner = NULL;
  char *name;

  if (g_file_set_contents (path, text->str, (gssize) text->len, &inner))
    return TRUE;
  name = g_filename_display_name (path);
  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
               "Cannot write the %s “%s”: %s", what, name, inner->message);
  g_free (name);
  g_error_free (inner);
  return FALSE;
}
