/* gimp-convnet.c: the plug-in's entry points: registers the ConvNet
 * procedures with GIMP 2.10 and runs them, through a dialog when run
 * interactively.  Everything else is in the engine and the dialogs. */
#include "config.h"

#include <gegl.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <string.h>

#include "plugin.h"
#include "ui.h"

static void query (void);
static void run   (const gchar      *name,
                   gint              nparams,
                   const GimpParam  *param,
                   gint             *nreturn_vals,
                   GimpParam       **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

MAIN ()

/* What a dialog remembers between runs (gimp_set_data). */
typedef struct
{
  char     model[128];
  int      top_k;
  char     node[128];
  int      max_channels;
  gboolean as_grid;
  int      class_index;
  char     class_label[128];   /* chosen in the dialog; "" to use the index */
} LastValues;

static LastValues last = { "lenet5-fashion", 5, "", 0, FALSE, -1, "" };

/* Translations and shipped data live beside the executable, wherever the
 * plug-in was installed (system-wide or in a user's profile). */
static char *locale_dir;

static void
init_i18n_and_data (void)
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
}

static void
query (void)
{
  static const GimpParamDef classify_args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_IMAGE, "image", "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable (its selection is classified)" },
    { GIMP_PDB_STRING, "model", "Model name: lenet5-fashion, a torchvision architecture (resnet50, ...) or a fine-tuned model" },
    { GIMP_PDB_INT32, "top-k", "How many classes to return" }
  };
  static const GimpParamDef classify_values[] = {
    { GIMP_PDB_INT32, "num-labels", "Number of labels" },
    { GIMP_PDB_STRINGARRAY, "labels", "Class labels, best first" },
    { GIMP_PDB_INT32, "num-probabilities", "Number of probabilities" },
    { GIMP_PDB_FLOATARRAY, "probabilities", "Probabilities, best first" }
  };
  static const GimpParamDef feature_args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_IMAGE, "image", "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable" },
    { GIMP_PDB_STRING, "model", "Model name" },
    { GIMP_PDB_STRING, "node", "Node whose activations to show, e.g. layer3.1 or 3" },
    { GIMP_PDB_INT32, "max-channels", "At most this many channels (0 = all)" },
    { GIMP_PDB_INT32, "as-grid", "One layer tiling the channels (1) or a layer per channel (0)" }
  };
  static const GimpParamDef layer_value[] = {
    { GIMP_PDB_LAYER, "layer", "The new layer (or layer group)" }
  };
  static const GimpParamDef saliency_args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_IMAGE, "image", "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable" },
    { GIMP_PDB_STRING, "model", "Model name" },
    { GIMP_PDB_INT32, "class", "Class index (-1 = the top class)" },
    { GIMP_PDB_STRING, "node", "Node for the map (\"\" = the architecture's last convolutional block)" }
  };

  init_i18n_and_data ();
  gimp_plugin_domain_register (GETTEXT_PACKAGE, locale_dir);

  gimp_install_procedure (PROC_CLASSIFY,
                          N_("Classify the selection with a convolutional network"),
                          "Runs a classic convolutional network (LeNet-5, AlexNet, "
                          "VGG, ResNet, GoogLeNet, or a fine-tuned model) on the "
                          "selection, or on the whole layer, and returns the most "
                          "likely classes with their probabilities.",
                          "gimp-convnet developers", "GPL-3.0-or-later", "2026",
                          N_("_Classify..."), "*", GIMP_PLUGIN,
                          G_N_ELEMENTS (classify_args),
                          G_N_ELEMENTS (classify_values),
                          classify_args, classify_values);
  gimp_install_procedure (PROC_FEATURE_MAPS,
                          N_("Show a network layer's feature maps as layers"),
                          "Adds a layer group with one layer per channel of the "
                          "chosen node's activation, most active first, each "
                          "scaled over the region it was computed from; or one "
                          "layer tiling all channels.",
                          "gimp-convnet developers", "GPL-3.0-or-later", "2026",
                          N_("_Feature Maps..."), "*", GIMP_PLUGIN,
                          G_N_ELEMENTS (feature_args), G_N_ELEMENTS (layer_value),
                          feature_args, layer_value);
  gimp_install_procedure (PROC_SALIENCY,
                          N_("Show where the network looks (Grad-CAM)"),
                          "Adds a translucent heatmap layer of the regions that "
                          "raise the chosen class's score (Grad-CAM).",
                          "gimp-convnet developers", "GPL-3.0-or-later", "2026",
                          N_("_Where It Looks..."), "*", GIMP_PLUGIN,
                          G_N_ELEMENTS (saliency_args), G_N_ELEMENTS (layer_value),
                          saliency_args, layer_value);

  {
    static const GimpParamDef finetune_args[] = {
      { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-NONINTERACTIVE (1) }" },
      { GIMP_PDB_STRING, "base-model", "Model to start from (lenet5-fashion, resnet50, ...)" },
      { GIMP_PDB_STRING, "data-dir", "Image folder with one sub-folder per class" },
      { GIMP_PDB_STRING, "output-name", "Name to save the new model under" },
      { GIMP_PDB_INT32, "epochs", "Training epochs (0 = 10)" },
      { GIMP_PDB_FLOAT, "learning-rate", "Learning rate (0 = 0.001)" },
      { GIMP_PDB_INT32, "augment", "Bit mask: 1 flip, 2 random crop, 4 colour jitter, 8 rotation, 16 random erasing" },
      { GIMP_PDB_INT32, "train-last-block", "Also train the last block (1) or only the new classifier (0)" }
    };
    static const GimpParamDef finetune_values[] = {
      { GIMP_PDB_STRING, "model-name", "The new model's name" },
      { GIMP_PDB_FLOAT, "validation-accuracy", "Accuracy on the held-out share of each class" }
    };

    gimp_install_procedure (PROC_FINETUNE,
                            N_("Teach a network new classes from a folder of images"),
                            "Replaces the base model's classifier with one for the "
                            "classes of DATA-DIR (a sub-folder of images per class), "
                            "trains it on 80% of each class and measures it on the "
                            "rest, and saves the model under OUTPUT-NAME in the "
                            "user's weights folder, where Classify, Feature Maps "
                            "and Where It Looks find it by that name.",
                            "gimp-convnet developers", "GPL-3.0-or-later", "2026",
                            N_("Fine-_tune..."), NULL, GIMP_PLUGIN,
                            G_N_ELEMENTS (finetune_args),
                            G_N_ELEMENTS (finetune_values),
                            finetune_args, finetune_values);
  }

  {
    static const GimpParamDef download_args[] = {
      { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-NONINTERACTIVE (1) }" },
      { GIMP_PDB_STRING, "model", "Architecture whose official checkpoint to fetch (resnet50, ...)" },
      { GIMP_PDB_STRING, "url", "Another address (a mirror's NAME-SHA256PREFIX.pth), or \"\"" }
    };
    static const GimpParamDef download_values[] = {
      { GIMP_PDB_STRING, "path", "Where the verified file was saved" }
    };

    gimp_install_procedure (PROC_DOWNLOAD,
                            N_("Download a network's official weights"),
                            "Downloads torchvision's checkpoint of MODEL (or "
                            "URL) into the user's weights folder, resuming a "
                            "download that broke off, and keeps it only if "
                            "its SHA-256 starts with the digits in its file "
                            "name. The model is then usable by name.",
                            "gimp-convnet developers", "GPL-3.0-or-later", "2026",
                            NULL, NULL, GIMP_PLUGIN,
                            G_N_ELEMENTS (download_args),
                            G_N_ELEMENTS (download_values),
                            download_args, download_values);
  }

  gimp_plugin_menu_register (PROC_CLASSIFY, "<Image>/Filters/ConvNet");
  gimp_plugin_menu_register (PROC_FINETUNE, "<Image>/Filters/ConvNet");
  gimp_plugin_menu_register (PROC_FEATURE_MAPS, "<Image>/Filters/ConvNet");
  gimp_plugin_menu_register (PROC_SALIENCY, "<Image>/Filters/ConvNet");
}

const char *const *
plugin_model_folders (void)
{
  static char *folders[4];

  if (!folders[0])
    {
      folders[0] = g_build_filename (gimp_directory (), "gimp-convnet",
                                     "weights", NULL);
      folders[1] = convnet_user_weights_folder ();
      folders[2] = g_strdup (convnet_data_dir ());
    }
  return (const char *const *) folders;
}

static ConvnetModel *
load_model (const char *name, GError **error)
{
  ConvnetModel *m;

  gimp_progress_init_printf (_("Loading %s"), name);
  m = convnet_model_registry_load (plugin_model_folders (), name, error);
  if (m)
    convnet_set_threads (g_get_num_processors ());
  return m;
}

/* Runs one procedure for real; the dialogs call back into this. */
static gboolean
run_classify (const char *model_name, gint32 drawable, int top_k,
              char ***labels, double **probs, int *n, GError **error)
{
  ConvnetModel *m = load_model (model_name, error);
  gboolean ok;

  if (!m)
    return FALSE;
  gimp_progress_set_text (_("Classifying"));
  ok = plugin_classify (m, drawable, top_k, labels, probs, n, error);
  convnet_model_free (m);
  return ok;
}

static gboolean
classify_from_dialog (const char *model, int top_k, char ***labels,
                      double **probs, int *n, gpointer user_data,
                      GError **error)
{
  return run_classify (model, GPOINTER_TO_INT (user_data), top_k, labels,
                       probs, n, error);
}

static gint32
run_layers (const char *name, gint32 image, gint32 drawable,
            const char *model_name, GError **error)
{
  ConvnetModel *m = load_model (model_name, error);
  gint32 layer = -1;

  if (!m)
    return -1;
  /* one undo step; nothing is left behind on failure */
  gimp_image_undo_group_start (image);
  if (strcmp (name, PROC_FEATURE_MAPS) == 0)
    {
      gimp_progress_set_text (_("Computing feature maps"));
      layer = plugin_feature_maps (image, drawable, m, model_name, last.node,
                                   last.max_channels, last.as_grid, error);
    }
  else
    {
      int class_index = last.class_index;
      for (int c = 0; last.class_label[0] && c < m->n_classes; c++)
        if (strcmp (m->labels[c], last.class_label) == 0)
          class_index = c;
      gimp_progress_set_text (_("Computing the class activation map"));
      layer = plugin_saliency (image, drawable, m, last.node, class_index,
                               error);
    }
  /* every failure happens before the first layer is made: an error leaves
   * the image as it was */
  gimp_image_undo_group_end (image);
  convnet_model_free (m);
  return layer;
}

/* The fine-tune dialog, with the project the user had open last time. */
static void
run_finetune_dialog (GimpParam *values, gint *nreturn_vals)
{
  static char *saved;
  const ConvnetUiImageSource source = { plugin_export_image, NULL };
  char *last = g_build_filename (gimp_directory (), "gimp-convnet",
                                 "last-project.json", NULL);
  ConvnetUiProject *project = g_file_test (last, G_FILE_TEST_EXISTS)
                              ? convnet_ui_project_load (last, NULL) : NULL;

  if (!project)
    project = convnet_ui_project_new ();
  gimp_ui_init (PLUG_IN_BINARY, FALSE);
  convnet_set_threads (g_get_num_processors ());
  g_free (saved);
  saved = convnet_ui_finetune_dialog (plugin_model_folders (), &source,
                                      project);
  g_mkdir_with_parents (plugin_model_folders ()[0], 0755);
  convnet_ui_project_save (project, last, NULL);
  convnet_ui_project_free (project);
  g_free (last);
  if (!saved)
    {
      values[0].data.d_status = GIMP_PDB_CANCEL;
      return;
    }
  *nreturn_vals = 3;
  values[1].type = GIMP_PDB_STRING;
  values[1].data.d_string = saved;
  values[2].type = GIMP_PDB_FLOAT;
  values[2].data.d_float = 0.0;
}

static void
run (const gchar *name, gint nparams, const GimpParam *param,
     gint *nreturn_vals, GimpParam **return_vals)
{
  static GimpParam values[5];
  static char **labels;
  static double *probs;
  const GimpRunMode run_mode = param[0].data.d_int32;
  const gint32 image = param[1].data.d_image;
  const gint32 drawable = param[2].data.d_drawable;
  GError *error = NULL;
  gboolean ok = TRUE;

  init_i18n_and_data ();
  gegl_init (NULL, NULL);
  *nreturn_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_SUCCESS;

  if (strcmp (name, PROC_DOWNLOAD) == 0)
    {
      static char *path, *message;

      g_clear_pointer (&path, g_free);
      if (nparams < 3 || !param[1].data.d_string)
        {
          values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
          return;
        }
      path = plugin_download (param[1].data.d_string, param[2].data.d_string,
                              &error);
      *nreturn_vals = 2;
      values[1].type = GIMP_PDB_STRING;
      if (!path)
        {
          g_free (message);
          message = g_strdup (error->message);
          g_clear_error (&error);
          values[0].data.d_status = GIMP_PDB_EXECUTION_ERROR;
        }
      values[1].data.d_string = path ? path : message;
      return;
    }

  if (strcmp (name, PROC_FINETUNE) == 0)
    {
      static char *model_name;
      double accuracy = 0.0;

      if (run_mode == GIMP_RUN_INTERACTIVE)
        {
          run_finetune_dialog (values, nreturn_vals);
          return;
        }
      if (nparams < 8 || !param[1].data.d_string || !param[2].data.d_string
          || !param[3].data.d_string)
        {
          values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
          return;
        }
      convnet_set_threads (g_get_num_processors ());
      if (!plugin_finetune (param[1].data.d_string, param[2].data.d_string,
                            param[3].data.d_string, param[4].data.d_int32,
                            param[5].data.d_float,
                            (guint) param[6].data.d_int32,
                            param[7].data.d_int32 != 0, &accuracy, &error))
        {
          static char *message;
          g_free (message);
          message = g_strdup (error->message);
          g_clear_error (&error);
          values[0].data.d_status = GIMP_PDB_EXECUTION_ERROR;
          *nreturn_vals = 2;
          values[1].type = GIMP_PDB_STRING;
          values[1].data.d_string = message;
          return;
        }
      g_free (model_name);
      model_name = g_strdup (param[3].data.d_string);
      *nreturn_vals = 3;
      values[1].type = GIMP_PDB_STRING;
      values[1].data.d_string = model_name;
      values[2].type = GIMP_PDB_FLOAT;
      values[2].data.d_float = accuracy;
      return;
    }

  gimp_get_data (name, &last);
  last.model[sizeof last.model - 1] = last.node[sizeof last.node - 1] = '\0';
  last.class_label[sizeof last.class_label - 1] = '\0';
  if (run_mode == GIMP_RUN_NONINTERACTIVE)
    {
      if (nparams < 5 || !param[3].data.d_string)
        {
          values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
          return;
        }
      g_strlcpy (last.model, param[3].data.d_string, sizeof last.model);
    }

  if (strcmp (name, PROC_CLASSIFY) == 0)
    {
      int n = 0;

      if (run_mode == GIMP_RUN_NONINTERACTIVE)
        last.top_k = param[4].data.d_int32;
      g_clear_pointer (&labels, g_strfreev);
      g_clear_pointer (&probs, g_free);
      if (run_mode == GIMP_RUN_INTERACTIVE)
        {
          gimp_ui_init (PLUG_IN_BINARY, FALSE);
          ok = convnet_ui_classify_dialog (plugin_model_folders (), last.model,
                                           sizeof last.model, &last.top_k,
                                           classify_from_dialog,
                                           GINT_TO_POINTER (drawable),
                                           &labels, &probs, &n);
          if (!ok)
            {
              values[0].data.d_status = GIMP_PDB_CANCEL;
              return;
            }
        }
      else
        ok = run_classify (last.model, drawable, last.top_k, &labels, &probs,
                           &n, &error);
      if (ok)
        {
          *nreturn_vals = 5;
          values[1].type = GIMP_PDB_INT32;
          values[1].data.d_int32 = n;
          values[2].type = GIMP_PDB_STRINGARRAY;
          values[2].data.d_stringarray = labels;
          values[3].type = GIMP_PDB_INT32;
          values[3].data.d_int32 = n;
          values[4].type = GIMP_PDB_FLOATARRAY;
          values[4].data.d_floatarray = probs;
        }
    }
  else
    {
      gint32 layer;

      if (run_mode == GIMP_RUN_NONINTERACTIVE)
        {
          if (strcmp (name, PROC_FEATURE_MAPS) == 0 && nparams >= 7)
            {
              g_strlcpy (last.node, param[4].data.d_string ? param[4].data.d_string : "",
                         sizeof last.node);
              last.max_channels = param[5].data.d_int32;
              last.as_grid = param[6].data.d_int32 != 0;
            }
          else if (strcmp (name, PROC_SALIENCY) == 0 && nparams >= 6)
            {
              last.class_index = param[4].data.d_int32;
              last.class_label[0] = '\0';
              g_strlcpy (last.node, param[5].data.d_string ? param[5].data.d_string : "",
                         sizeof last.node);
            }
          else
            {
              values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
              return;
            }
        }
      else if (run_mode == GIMP_RUN_INTERACTIVE)
        {
          gimp_ui_init (PLUG_IN_BINARY, FALSE);
          ok = strcmp (name, PROC_FEATURE_MAPS) == 0
               ? convnet_ui_feature_maps_dialog (plugin_model_folders (),
                                                 last.model, sizeof last.model,
                                                 last.node, sizeof last.node,
                                                 &last.max_channels,
                                                 &last.as_grid)
               : convnet_ui_saliency_dialog (plugin_model_folders (),
                                             last.model, sizeof last.model,
                                             last.node, sizeof last.node,
                                             last.class_label,
                                             sizeof last.class_label,
                                             classify_from_dialog,
                                             GINT_TO_POINTER (drawable));
          if (!ok)
            {
              values[0].data.d_status = GIMP_PDB_CANCEL;
              return;
            }
        }
      layer = run_layers (name, image, drawable, last.model, &error);
      ok = layer >= 0;
      if (ok)
        {
          *nreturn_vals = 2;
          values[1].type = GIMP_PDB_LAYER;
          values[1].data.d_layer = layer;
          if (run_mode != GIMP_RUN_NONINTERACTIVE)
            gimp_displays_flush ();
        }
    }

  if (!ok)
    {
      static char *message;
      g_free (message);
      message = g_strdup (error ? error->message : "failed");
      values[0].data.d_status = GIMP_PDB_EXECUTION_ERROR;
      if (strcmp (name, PROC_CLASSIFY) == 0)
        {
          /* GIMP 2.10 crashes on an error string in place of a
           * STRINGARRAY's count, so classify reports through a message */
          gimp_message (message);
        }
      else
        {
          *nreturn_vals = 2;
          values[1].type = GIMP_PDB_STRING;
          values[1].data.d_string = message;
        }
      g_clear_error (&error);
      return;
    }
  gimp_set_data (name, &last, sizeof last);
}
