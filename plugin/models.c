/* models.c: where the plug-in finds models, and loading them.  A dialog
 * keeps the model its Classify button last used, so that a second click
 * costs a forward pass, not a load: about 0.55 s for resnet50 here,
 * against 0.10 s for the forward and the pixels. */
#include "config.h"

#include <glib/gstdio.h>

#include "host.h"
#include "plugin.h"

const char *const *
plugin_model_folders (void)
{
  static char *folders[5];

  if (!folders[0])
    {
      char *previous = plugin_host_previous_profile ();
      int n = 0;

      folders[n++] = g_build_filename (gimp_directory (), "gimp-convnet",
                                       "weights", NULL);
      /* a user who upgraded GIMP keeps the models of the version before */
      if (previous)
        folders[n++] = g_build_filename (previous, "gimp-convnet", "weights",
                                         NULL);
      folders[n++] = convnet_user_weights_folder ();
      folders[n++] = g_strdup (convnet_data_dir ());
      g_free (previous);
    }
  return (const char *const *) folders;
}

ConvnetModel *
plugin_load_model (const char *name, GError **error)
{
  const gint64 start = g_get_monotonic_time ();
  ConvnetModel *m;

  gimp_progress_init_printf (_("Loading %s"), name);
  m = convnet_model_registry_load (plugin_model_folders (), name, error);
  if (m)
    {
      convnet_set_threads (g_get_num_processors ());
      g_debug ("model %s loaded from its file in %.3f s", name,
               (g_get_monotonic_time () - start) / 1e6);
    }
  return m;
}

static ConvnetModel *warm_model;
static char *warm_key;

/* NAME, the file it names now and that file's size and time: a model
 * downloaded or saved again under the same name is loaded again */
static char *
model_key (const char *name)
{
  const char *arch = NULL;
  char *path = convnet_model_registry_resolve (plugin_model_folders (), name,
                                               &arch, NULL);
  GStatBuf st = { 0 };
  char *key;

  if (!path || g_stat (path, &st) != 0)
    {
      g_free (path);
      return NULL;
    }
  key = g_strdup_printf ("%s\n%s\n%" G_GINT64_FORMAT "\n%" G_GINT64_FORMAT,
                         name, path, (gint64) st.st_size,
                         (gint64) st.st_mtime);
  g_free (path);
  return key;
}

ConvnetModel *
plugin_warm_model (const char *name, GError **error)
{
  char *key = model_key (name);

  if (key && warm_key && g_strcmp0 (key, warm_key) == 0)
    {
      g_free (key);
      return warm_model;
    }
  plugin_warm_model_drop ();
  warm_model = plugin_load_model (name, error);
  warm_key = warm_model ? key : (g_free (key), NULL);
  return warm_model;
}

ConvnetModel *
plugin_warm_model_take (const char *name, GError **error)
{
  ConvnetModel *m = plugin_warm_model (name, error);

  warm_model = NULL;
  g_clear_pointer (&warm_key, g_free);
  return m;
}

void
plugin_warm_model_drop (void)
{
  g_clear_pointer (&warm_model, convnet_model_free);
  g_clear_pointer (&warm_key, g_free);
}
