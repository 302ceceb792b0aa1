/* procedures.c: the table of the plug-in's procedures and one run
 * function for each, host-neutral: both hosts register this table and
 * hand every call to its run function. */
#include "config.h"

#include <string.h>

#include "host.h"
#include "plugin.h"
#include "procedures.h"
#include "ui.h"

#define NAME_SIZE 128

/* ------------------------------------------------------------ classify */

/* The model stays loaded for the next call in this process: the dialog's
 * next Classify click, the next drawable; run_classify drops it. */
static gboolean
classify_drawable (const char *model_name, gint32 drawable, int top_k,
                   char ***labels, double **probs, int *n, GError **error)
{
  ConvnetModel *m = plugin_warm_model (model_name, error);

  if (!m)
    return FALSE;
  gimp_progress_set_text (_("Classifying"));
  return plugin_classify (m, drawable, top_k, labels, probs, n, error);
}

/* the dialogs' Classify button */
static gboolean
classify_from_dialog (const char *model, int top_k, char ***labels,
                      double **probs, int *n, gpointer user_data,
                      GError **error)
{
  const gint64 start = g_get_monotonic_time ();
  gboolean ok = classify_drawable (model, GPOINTER_TO_INT (user_data), top_k,
                                   labels, probs, n, error);

  g_debug ("the dialog classified with %s in %.3f s", model,
           (g_get_monotonic_time () - start) / 1e6);
  return ok;
}

/* With several drawables, the first one's classes are returned and the
 * others' top class is told in a message. */
static void
report_other_drawables (PluginCall *call, const char *model, int top_k)
{
  GString *text = g_string_new (NULL);

  for (int d = 1; d < call->n_drawables; d++)
    {
      char **labels = NULL, *name;
      double *probs = NULL;
      GError *error = NULL;
      int n = 0;

      name = plugin_host_item_name (call->drawables[d]);
      if (classify_drawable (model, call->drawables[d], top_k, &labels,
                             &probs, &n, &error) && n > 0)
        g_string_append_printf (text, "%s: %s (%.2f)\n", name, labels[0],
                                probs[0]);
      else if (error)
        g_string_append_printf (text, "%s: %s\n", name, error->message);
      g_clear_error (&error);
      g_strfreev (labels);
      g_free (probs);
      g_free (name);
    }
  if (text->len)
    gimp_message (text->str);
  g_string_free (text, TRUE);
}

static gboolean
run_classify (PluginCall *call, GError **error)
{
  const gint32 drawable = call->drawables[0];
  char model[NAME_SIZE];
  int top_k = plugin_call_get_int (call, "top-k");
  char **labels = NULL;
  double *probs = NULL;
  int n = 0;

  g_strlcpy (model, plugin_call_get_string (call, "model"), sizeof model);
  if (call->interactive)
    {
      plugin_host_ui_init ();
      if (!convnet_ui_classify_dialog (plugin_model_folders (), model,
                                       sizeof model, &top_k,
                                       classify_from_dialog,
                                       GINT_TO_POINTER (drawable), &labels,
                                       &probs, &n))
        {
          plugin_warm_model_drop ();
          return FALSE;
        }
      plugin_call_set_string (call, "model", model);
      plugin_call_set_int (call, "top-k", top_k);
    }
  else if (!classify_drawable (model, drawable, top_k, &labels, &probs, &n,
                               error))
    {
      plugin_warm_model_drop ();
      return FALSE;
    }
  report_other_drawables (call, model, top_k);
  plugin_warm_model_drop ();
  plugin_call_take_strings (call, 0, labels);
  plugin_call_take_doubles (call, 1, probs, n);
  return TRUE;
}

/* ------------------------------------------------------------ layers */

/* Feature maps and saliency: a dialog when interactive, then a new layer
 * (group) above each drawable; the first one's is returned. */
static gboolean
run_layers (PluginCall *call, gboolean feature_maps, GError **error)
{
  char model[NAME_SIZE], node[NAME_SIZE], class_label[NAME_SIZE];
  int max_channels = 0, class_index = -1;
  gboolean as_grid = FALSE;
  ConvnetModel *m;
  gint32 first = -1;

  g_strlcpy (model, plugin_call_get_string (call, "model"), sizeof model);
  g_strlcpy (node, plugin_call_get_string (call, "node"), sizeof node);
  if (feature_maps)
    {
      max_channels = plugin_call_get_int (call, "max-channels");
      as_grid = plugin_call_get_boolean (call, "as-grid");
      class_label[0] = '\0';
    }
  else
    {
      class_index = plugin_call_get_int (call, "class");
      g_strlcpy (class_label,
                 call->interactive
                 ? plugin_call_get_string (call, "class-label") : "",
                 sizeof class_label);
    }

  if (call->interactive)
    {
      gboolean ok;

      plugin_host_ui_init ();
      ok = feature_maps
           ? convnet_ui_feature_maps_dialog (plugin_model_folders (), model,
                                             sizeof model, node, sizeof node,
                                             &max_channels, &as_grid)
           : convnet_ui_saliency_dialog (plugin_model_folders (), model,
                                         sizeof model, node, sizeof node,
                                         class_label, sizeof class_label,
                                         classify_from_dialog,
                                         GINT_TO_POINTER (call->drawables[0]));
      if (!ok)
        {
          plugin_warm_model_drop ();
          return FALSE;
        }
      plugin_call_set_string (call, "model", model);
      plugin_call_set_string (call, "node", node);
      if (feature_maps)
        {
          plugin_call_set_int (call, "max-channels", max_channels);
          plugin_call_set_boolean (call, "as-grid", as_grid);
        }
      else
        plugin_call_set_string (call, "class-label", class_label);
    }

  /* the model the saliency dialog classified with, if it is this one */
  m = plugin_warm_model_take (model, error);
  plugin_warm_model_drop ();
  if (!m)
    return FALSE;
  /* a class picked by its label in the dialog wins over the index */
  for (int c = 0; class_label[0] && c < m->n_classes; c++)
    if (strcmp (m->labels[c], class_label) == 0)
      class_index = c;

  for (int d = 0; d < call->n_drawables; d++)
    {
      gint32 layer;

      /* one undo step; every failure happens before the first layer is
       * made, so an error leaves the image as it was */
      plugin_host_undo_group_start (call->image);
      if (feature_maps)
        {
          gimp_progress_set_text (_("Computing feature maps"));
          layer = plugin_feature_maps (call->image, call->drawables[d], m,
                                       model, node, max_channels, as_grid,
                                       error);
        }
      else
        {
          gimp_progress_set_text (_("Computing the class activation map"));
          layer = plugin_saliency (call->image, call->drawables[d], m, node,
                                   class_index, error);
        }
      plugin_host_undo_group_end (call->image);
      if (layer < 0)
        break;
      if (first < 0)
        first = layer;
    }
  convnet_model_free (m);
  if (error && *error)
    return FALSE;
  plugin_call_set_layer (call, 0, first);
  if (call->interactive)
    gimp_displays_flush ();
  return TRUE;
}

static gboolean
run_feature_maps (PluginCall *call, GError **error)
{
  return run_layers (call, TRUE, error);
}

static gboolean
run_saliency (PluginCall *call, GError **error)
{
  return run_layers (call, FALSE, error);
}

/* ------------------------------------------------------------ fine-tune */

/* The fine-tune dialog, with the project the user had open last time. */
static gboolean
run_finetune_dialog (PluginCall *call)
{
  const ConvnetUiImageSource source = { plugin_export_image, NULL };
  char *last = g_build_filename (gimp_directory (), "gimp-convnet",
                                 "last-project.json", NULL);
  ConvnetUiProject *project = g_file_test (last, G_FILE_TEST_EXISTS)
                              ? convnet_ui_project_load (last, NULL) : NULL;
  char *saved;

  if (!project)
    project = convnet_ui_project_new ();
  plugin_host_ui_init ();
  convnet_set_threads (g_get_num_processors ());
  saved = convnet_ui_finetune_dialog (plugin_model_folders (), &source,
                                      project);
  g_mkdir_with_parents (plugin_model_folders ()[0], 0755);
  convnet_ui_project_save (project, last, NULL);
  convnet_ui_project_free (project);
  g_free (last);
  if (!saved)
    return FALSE;
  plugin_call_take_string (call, 0, saved);
  return TRUE;
}

static gboolean
run_finetune (PluginCall *call, GError **error)
{
  double accuracy = 0.0;

  if (call->interactive)
    return run_finetune_dialog (call);
  convnet_set_threads (g_get_num_processors ());
  if (!plugin_finetune (plugin_call_get_string (call, "base-model"),
                        plugin_call_get_string (call, "data-dir"),
                        plugin_call_get_string (call, "output-name"),
                        plugin_call_get_int (call, "epochs"),
                        plugin_call_get_double (call, "learning-rate"),
                        (guint) plugin_call_get_int (call, "augment"),
                        plugin_call_get_boolean (call, "train-last-block"),
                        &accuracy, error))
    return FALSE;
  plugin_call_take_string (call, 0,
                           g_strdup (plugin_call_get_string (call,
                                                             "output-name")));
  plugin_call_set_double (call, 1, accuracy);
  return TRUE;
}

/* ------------------------------------------------------------ batch */

static gboolean
run_classify_files (PluginCall *call, GError **error)
{
  ConvnetModel *m = plugin_load_model (plugin_call_get_string (call, "model"),
                                error);
  int classified = 0, failed = 0;
  gboolean ok;

  if (!m)
    return FALSE;
  ok = plugin_classify_files (m, plugin_call_get_string (call, "files"),
                              plugin_call_get_int (call, "top-k"),
                              plugin_call_get_string (call, "csv-path"),
                              &classified, &failed, error);
  convnet_model_free (m);
  if (!ok)
    return FALSE;
  plugin_call_set_return_int (call, 0, classified);
  plugin_call_set_return_int (call, 1, failed);
  return TRUE;
}

/* ------------------------------------------------------------ download */

static gboolean
run_download (PluginCall *call, GError **error)
{
  char *path = plugin_download (plugin_call_get_string (call, "model"),
                                plugin_call_get_string (call, "url"), error);

  if (!path)
    return FALSE;
  plugin_call_take_string (call, 0, path);
  return TRUE;
}

/* ------------------------------------------------------------ explain files */

static gboolean
run_explain_files (PluginCall *call, GError **error)
{
  const char *model_name = plugin_call_get_string (call, "model");
  ConvnetModel *m = plugin_load_model (model_name, error);
  int explained = 0, failed = 0;
  gboolean ok;

  if (!m)
    return FALSE;
  ok = plugin_explain_files (m, model_name,
                             plugin_call_get_string (call, "files"),
                             plugin_call_get_string (call, "node"),
                             plugin_call_get_string (call, "out-folder"),
                             plugin_call_get_boolean (call, "save-xcf"),
                             &explained, &failed, error);
  convnet_model_free (m);
  if (!ok)
    return FALSE;
  g_value_set_int (&call->returns[0], explained);
  g_value_set_int (&call->returns[1], failed);
  return TRUE;
}

/* ------------------------------------------------------------ the table */

#define MODEL_BLURB "Model name: lenet5-fashion, a torchvision architecture " \
                    "(resnet50, ...) or a fine-tuned model"

static const PluginArg classify_args[] = {
  { PLUGIN_ARG_STRING, "model", MODEL_BLURB, "lenet5-fashion", 0, 0, 0, FALSE },
  { PLUGIN_ARG_INT, "top-k", "How many classes to return", NULL, 1, 1000, 5,
    FALSE },
};
static const PluginReturn classify_returns[] = {
  { PLUGIN_RETURN_STRINGS, "labels", "Class labels, best first" },
  { PLUGIN_RETURN_DOUBLES, "probabilities", "Probabilities, best first" },
};

static const PluginArg feature_maps_args[] = {
  { PLUGIN_ARG_STRING, "model", MODEL_BLURB, "lenet5-fashion", 0, 0, 0, FALSE },
  { PLUGIN_ARG_STRING, "node",
    "Node whose activations to show, e.g. layer3.1 or 3 (\"\" = the last "
    "convolutional block)", "", 0, 0, 0, FALSE },
  { PLUGIN_ARG_INT, "max-channels", "At most this many channels (0 = all)",
    NULL, 0, 4096, 0, FALSE },
  { PLUGIN_ARG_BOOLEAN, "as-grid",
    "One layer tiling the channels (1) or a layer per channel (0)", NULL, 0,
    1, 0, FALSE },
};
static const PluginReturn layer_returns[] = {
  { PLUGIN_RETURN_LAYER, "layer", "The new layer (or layer group)" },
};

static const PluginArg saliency_args[] = {
  { PLUGIN_ARG_STRING, "model", MODEL_BLURB, "lenet5-fashion", 0, 0, 0, FALSE },
  { PLUGIN_ARG_INT, "class", "Class index (-1 = the top class)", NULL, -1,
    100000, -1, FALSE },
  { PLUGIN_ARG_STRING, "node",
    "Node for the map (\"\" = the architecture's last convolutional block)",
    "", 0, 0, 0, FALSE },
  { PLUGIN_ARG_STRING, "class-label",
    "The class chosen by its label in the dialog (\"\" = use class)", "", 0,
    0, 0, TRUE },
};

static const PluginArg finetune_args[] = {
  { PLUGIN_ARG_STRING, "base-model",
    "Model to start from (lenet5-fashion, resnet50, ...)", "lenet5-fashion",
    0, 0, 0, FALSE },
  { PLUGIN_ARG_STRING, "data-dir",
    "Image folder with one sub-folder per class", "", 0, 0, 0, FALSE },
  { PLUGIN_ARG_STRING, "output-name", "Name to save the new model under",
    "", 0, 0, 0, FALSE },
  { PLUGIN_ARG_INT, "epochs", "Training epochs (0 or less = the default)",
    NULL, -1, 100000, 0, FALSE },
  { PLUGIN_ARG_DOUBLE, "learning-rate",
    "Learning rate (0 or less = the default)", NULL, -1.0, 10.0, 0.0, FALSE },
  { PLUGIN_ARG_INT, "augment",
    "Bit mask: 1 flip, 2 random crop, 4 colour jitter, 8 rotation, 16 "
    "random erasing", NULL, 0, 31, 0, FALSE },
  { PLUGIN_ARG_BOOLEAN, "train-last-block",
    "Also train the last block (1) or only the new classifier (0)", NULL, 0,
    1, 0, FALSE },
};
static const PluginReturn finetune_returns[] = {
  { PLUGIN_RETURN_STRING, "model-name", "The new model's name" },
  { PLUGIN_RETURN_DOUBLE, "validation-accuracy",
    "Accuracy on the held-out share of each class" },
};

static const PluginArg download_args[] = {
  { PLUGIN_ARG_STRING, "model",
    "Architecture whose official checkpoint to fetch (resnet50, ...)", "", 0,
    0, 0, FALSE },
  { PLUGIN_ARG_STRING, "url",
    "Another address (a mirror's NAME-SHA256PREFIX.pth), or \"\"", "", 0, 0,
    0, FALSE },
};
static const PluginReturn download_returns[] = {
  { PLUGIN_RETURN_STRING, "path", "Where the verified file was saved" },
};

#define FILES_BLURB "Image files: a folder (searched recursively), a " \
                    "pattern such as photos/*.png, or one file"

static const PluginArg classify_files_args[] = {
  { PLUGIN_ARG_STRING, "model", MODEL_BLURB, "lenet5-fashion", 0, 0, 0, FALSE },
  { PLUGIN_ARG_STRING, "files", FILES_BLURB, "", 0, 0, 0, FALSE },
  { PLUGIN_ARG_INT, "top-k", "How many classes a file to write", NULL, 1,
    1000, 5, FALSE },
  { PLUGIN_ARG_STRING, "csv-path",
    "The CSV to write: file,rank,label,probability", "", 0, 0, 0, FALSE },
};
static const PluginReturn classify_files_returns[] = {
  { PLUGIN_RETURN_INT, "classified", "Files classified" },
  { PLUGIN_RETURN_INT, "failed",
    "Files that could not be read (a row FILE,error,WHY, each)" },
};

static const PluginArg explain_files_args[] = {
  { PLUGIN_ARG_STRING, "model", MODEL_BLURB, "lenet5-fashion", 0, 0, 0, FALSE },
  { PLUGIN_ARG_STRING, "files",
    "Images: a glob (photos/*.jpg), a folder (searched recursively) or one "
    "file", "", 0, 0, 0, FALSE },
  { PLUGIN_ARG_STRING, "node",
    "Node whose feature maps to tile (\"\" = the last convolutional block)",
    "", 0, 0, 0, FALSE },
  { PLUGIN_ARG_STRING, "out-folder",
    "Folder for the explanations (made if missing)", "", 0, 0, 0, FALSE },
  { PLUGIN_ARG_BOOLEAN, "save-xcf",
    "Also save an XCF per image with the photo and both layers (1) or not "
    "(0)", NULL, 0, 1, 0, FALSE },
};
static const PluginReturn explain_files_returns[] = {
  { PLUGIN_RETURN_INT, "explained", "Images explained" },
  { PLUGIN_RETURN_INT, "failed", "Files that could not be read or explained" },
};

#define ENTRIES(a) a, G_N_ELEMENTS (a)

const PluginProcedure plugin_procedures[] = {
  { PROC_CLASSIFY, TRUE, N_("_Classify..."),
    N_("Classify the selection with a convolutional network"),
    "Runs a classic convolutional network (LeNet-5, AlexNet, VGG, ResNet, "
    "GoogLeNet, or a fine-tuned model) on the selection, or on the whole "
    "layer, and returns the most likely classes with their probabilities.",
    ENTRIES (classify_args), ENTRIES (classify_returns), run_classify },
  { PROC_FEATURE_MAPS, TRUE, N_("_Feature Maps..."),
    N_("Show a network layer's feature maps as layers"),
    "Adds a layer group with one layer per channel of the chosen node's "
    "activation, most active first, each scaled over the region it was "
    "computed from; or one layer tiling all channels.",
    ENTRIES (feature_maps_args), ENTRIES (layer_returns), run_feature_maps },
  { PROC_SALIENCY, TRUE, N_("_Where It Looks..."),
    N_("Show where the network looks (Grad-CAM)"),
    "Adds a translucent heatmap layer of the regions that raise the chosen "
    "class's score (Grad-CAM).",
    ENTRIES (saliency_args), ENTRIES (layer_returns), run_saliency },
  { PROC_FINETUNE, FALSE, N_("Fine-_tune..."),
    N_("Teach a network new classes from a folder of images"),
    "Replaces the base model's classifier with one for the classes of "
    "DATA-DIR (a sub-folder of images per class), trains it on a share of "
    "each class and measures it on the rest, and saves the model under "
    "OUTPUT-NAME in the user's weights folder, where Classify, Feature Maps "
    "and Where It Looks find it by that name.",
    ENTRIES (finetune_args), ENTRIES (finetune_returns), run_finetune },
  { PROC_DOWNLOAD, FALSE, NULL, N_("Download a network's official weights"),
    "Downloads torchvision's checkpoint of MODEL (or URL) into the user's "
    "weights folder, resuming a download that broke off, and keeps it only "
    "if its SHA-256 starts with the digits in its file name. The model is "
    "then usable by name.",
    ENTRIES (download_args), ENTRIES (download_returns), run_download },
  { PROC_CLASSIFY_FILES, FALSE, NULL,
    N_("Classify many image files into a CSV"),
    "Classifies every image FILES names (PNG, JPEG, TIFF, BMP, GIF and WebP "
    "by the plug-in's own decoder, on a thread of its own while the network "
    "runs; XCF and other formats through GIMP's loaders) with the model "
    "loaded once, and writes CSV-PATH atomically with the columns file, "
    "rank, label, probability. A file that cannot be read is a row "
    "FILE,error,WHY, and is told in a message; the others are classified.",
    ENTRIES (classify_files_args), ENTRIES (classify_files_returns),
    run_classify_files },
  { PROC_EXPLAIN_FILES, FALSE, NULL,
    N_("Explain many image files: feature maps and heatmaps as PNGs"),
    N_("Loads the model once and, for each image FILES names (a glob, a "
       "folder searched recursively, or one file; formats the fast decoder "
       "cannot read, such as XCF, go through GIMP's loaders), writes into "
       "OUT-FOLDER STEM-feature-maps.png, the feature maps of NODE tiled "
       "in a grid, and STEM-heatmap.png, the Grad-CAM heatmap of the top "
       "class over the photo, both over the part of the image the network "
       "sees; with SAVE-XCF also STEM.xcf holding the photo and both as "
       "layers. STEM is the file's name without its extension; when "
       "several files share one (a.png in two folders), the later ones in "
       "sorted order get -2, -3, ... appended. A file that cannot be read "
       "or explained is told in a message and counted as failed, and the "
       "job goes on."),
    ENTRIES (explain_files_args), ENTRIES (explain_files_returns),
    run_explain_files },
};

const int plugin_n_procedures = G_N_ELEMENTS (plugin_procedures);

/* ------------------------------------------------------------ set-up */

static char *locale_dir;

/* Translations and shipped data live beside the executable, wherever the
 * plug-in was installed (system-wide or in a user's profile). */
const char *
plugin_init_i18n_and_data (void)
{
  char *exe = g_file_read_link ("/proc/self/exe", NULL);
  char *dir = exe ? g_path_get_dirname (exe) : NULL;
  char *locale = dir ? g_build_filename (dir, "locale", NULL) : NULL;
  char *data = dir ? g_build_filename (dir, "data", NULL) : NULL;

  g_free (locale_dir);
  locale_dir = g_strdup (locale && g_file_test (locale, G_FILE_TEST_IS_DIR)
                         ? locale : LOCALEDIR);
  bindtextdomain (GETTEXT_PACKAGE, locale_dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  if (data && g_file_test (data, G_FILE_TEST_IS_DIR)
      && !g_getenv ("CONVNET_DATA_DIR"))
    g_setenv ("CONVNET_DATA_DIR", data, TRUE);
  g_free (exe);
  g_free (dir);
  g_free (locale);
  g_free (data);
  return locale_dir;
}
