/* model_registry.c: models by name, as the GIMP plug-in offers them: the
 * shipped ones, torchvision architectures whose official checkpoint file
 * the user has put in a weights folder, and models fine-tuned and saved
 * under a name. */
#include "convnet.h"

#include <string.h>

static void
entry_free (gpointer data)
{
  ConvnetModelEntry *e = data;

  g_free (e->name);
  g_free (e->path);
  g_free (e->arch);
  g_free (e);
}

static char *
find_file (const char *const *folders, const char *file)
{
  for (int i = 0; folders && folders[i]; i++)
    {
      char *path = g_build_filename (folders[i], file, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }
  return NULL;
}

/* Whether FILE is another release of CHECKPOINT: the same stem, another
 * hash (resnet50-11ad3fa6.pth beside resnet50-0676ba61.pth), as
 * torchvision publishes newer weights and mirrors keep the convention. */
static gboolean
same_stem (const char *file, const char *checkpoint)
{
  const char *dash = strrchr (checkpoint, '-');
  gsize stem = dash ? (gsize) (dash - checkpoint) + 1 : 0;
  gsize len = strlen (file), hex;

  if (stem == 0 || strncmp (file, checkpoint, stem) != 0
      || !g_str_has_suffix (file, ".pth"))
    return FALSE;
  hex = len - stem - strlen (".pth");
  if (len < stem + strlen (".pth") || hex < 6 || hex > 64)
    return FALSE;
  for (gsize i = stem; i < stem + hex; i++)
    if (!g_ascii_isxdigit (file[i]))
      return FALSE;
  return TRUE;
}

const ConvnetArch *
convnet_arch_for_checkpoint (const char *file)
{
  for (guint a = 0; file && a < convnet_arch_count (); a++)
    {
      const ConvnetArch *arch = convnet_arch_nth (a);

      if (arch->checkpoint && same_stem (file, arch->checkpoint))
        return arch;
    }
  return NULL;
}

/* ARCH's checkpoint in FOLDERS: its official name first, else another
 * release of it (the first by name). */
static char *
find_checkpoint (const char *const *folders, const ConvnetArch *arch)
{
  char *path = find_file (folders, arch->checkpoint);

  for (int i = 0; !path && folders && folders[i]; i++)
    {
      GDir *dir = g_dir_open (folders[i], 0, NULL);
      const char *file;
      char *best = NULL;

      while (dir && (file = g_dir_read_name (dir)))
        if (same_stem (file, arch->checkpoint)
            && (best == NULL || strcmp (file, best) < 0))
          {
            g_free (best);
            best = g_strdup (file);
          }
      if (dir)
        g_dir_close (dir);
      if (best)
        path = g_build_filename (folders[i], best, NULL);
      g_free (best);
    }
  return path;
}

static gboolean
listed (GPtrArray *entries, const char *name)
{
  for (guint i = 0; i < entries->len; i++)
    if (strcmp (((ConvnetModelEntry *) g_ptr_array_index (entries, i))->name,
                name) == 0)
      return TRUE;
  return FALSE;
}

static void
add (GPtrArray *entries, const char *name, const char *arch, char *path)
{
  ConvnetModelEntry *e = g_new0 (ConvnetModelEntry, 1);

  e->name = g_strdup (name);
  e->arch = g_strdup (arch);
  e->path = path;
  g_ptr_array_add (entries, e);
}

char *
convnet_user_weights_folder (void)
{
  return g_build_filename (g_get_user_data_dir (), "gimp-convnet", "weights",
                           NULL);
}

GPtrArray *
convnet_model_registry_list (const char *const *folders,
                             gboolean include_missing)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func (entry_free);

  /* our own .safetensors, by file name: shipped and fine-tuned alike */
  for (int i = 0; folders && folders[i]; i++)
    {
      GDir *dir = g_dir_open (folders[i], 0, NULL);
      const char *file;
      GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

      while (dir && (file = g_dir_read_name (dir)))
        if (g_str_has_suffix (file, ".safetensors") && file[0] != '.')
          g_ptr_array_add (names, g_strndup (file, strlen (file)
                                             - strlen (".safetensors")));
      if (dir)
        g_dir_close (dir);
      g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
      for (guint k = 0; k < names->len; k++)
        {
          const char *name = g_ptr_array_index (names, k);
          char *file_name = g_strconcat (name, ".safetensors", NULL);
          if (!listed (entries, name))
            add (entries, name, NULL,
                 g_build_filename (folders[i], file_name, NULL));
          g_free (file_name);
        }
      g_ptr_array_unref (names);
    }

  /* torchvision architectures whose official file is present */
  for (guint a = 0; a < convnet_arch_count (); a++)
    {
      const ConvnetArch *arch = convnet_arch_nth (a);
      char *path;

      if (!arch->checkpoint || listed (entries, arch->name))
        continue;
      path = find_checkpoint (folders, arch);
      if (path || include_missing)
        add (entries, arch->name, arch->name, path);
    }
  return entries;
}

char *
convnet_model_registry_resolve (const char *const *folders, const char *name,
                                const char **arch, GError **error)
{
  const ConvnetArch *a = convnet_arch_lookup (name);
  char *file, *path;

  *arch = NULL;
  if (name[0] == '\0' || strchr (name, '/') || strchr (name, '\\')
      || strcmp (name, "..") == 0)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "'%s' is not a model name", name);
      return NULL;
    }
  file = g_strconcat (name, ".safetensors", NULL);
  path = find_file (folders, file);
  g_free (file);
  if (path)
    return path;

  if (a && a->checkpoint)
    {
      path = find_checkpoint (folders, a);
      if (path)
        {
          *arch = a->name;
          return path;
        }
      {
        char *url = convnet_checkpoint_url (a->name, NULL);

        g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                     "model '%s' needs torchvision's checkpoint %s: use the "
                     "Download button beside the model chooser, or run "
                     "'convnet fetch %s', or download %s and put it in %s",
                     name, a->checkpoint, a->name, url,
                     folders && folders[0] ? folders[0]
                                           : "the weights folder");
        g_free (url);
      }
      return NULL;
    }
  {
    GString *known = g_string_new (NULL);
    GPtrArray *entries = convnet_model_registry_list (folders, FALSE);
    for (guint i = 0; i < entries->len; i++)
      g_string_append_printf (known, "%s%s", i ? ", " : "",
                              ((ConvnetModelEntry *) g_ptr_array_index (entries, i))->name);
    g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                 "unknown model '%s' (available: %s; a torchvision "
                 "architecture name works once its checkpoint is in %s)",
                 name, known->len ? known->str : "none",
                 folders && folders[0] ? folders[0] : "the weights folder");
    g_string_free (known, TRUE);
    g_ptr_array_unref (entries);
  }
  return NULL;
}

ConvnetModel *
convnet_model_registry_load (const char *const *folders, const char *name,
                             GError **error)
{
  const char *arch;
  char *path = convnet_model_registry_resolve (folders, name, &arch, error);
  ConvnetModel *m;

  if (!path)
    return NULL;
  m = convnet_model_load (path, arch, 0, 0, error);
  g_free (path);
  return m;
}
