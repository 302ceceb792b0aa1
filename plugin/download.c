/* download.c: plug-in-convnet-download: an official checkpoint (or a
 * mirror's file) into the user's weights folder, for batch scripts; the
 * dialogs have their Download... button. */
#include "config.h"

#include "plugin.h"

static gboolean
show_progress (guint64  received,
               guint64  total,
               gpointer user_data G_GNUC_UNUSED)
{
  if (total > 0)
    gimp_progress_update ((double) received / total);
  else
    gimp_progress_pulse ();
  return TRUE;
}

char *
plugin_download (const char *model,
                 const char *url,
                 GError    **error)
{
  const char *folder = plugin_model_folders ()[0];
  char *address = url && *url ? g_strdup (url)
                              : convnet_checkpoint_url (model, error);
  char *path;

  if (!address)
    return NULL;
  gimp_progress_init_printf (_("Downloading %s"), address);
  path = convnet_fetch_url (address, folder, show_progress, NULL, error);
  gimp_progress_end ();
  g_free (address);
  return path;
}
