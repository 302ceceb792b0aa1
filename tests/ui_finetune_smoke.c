/* ui_finetune_smoke.c: ui_dialog_smoke's Download Checkpoint dialog
 * (opened from the model chooser) and Fine-tune dialog (a training of
 * lenet5-fashion on two classes of made-up images, its curves and its
 * confusion matrix). */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"
#include "ui_smoke.h"

/* The button labelled LABEL (with its mnemonic) in ROOT; NULL if none. */
static GtkWidget *
find_button (GtkWidget *root, const char *label)
{
  GList *found = NULL;
  GtkWidget *button = NULL;

  collect (root, GTK_TYPE_BUTTON, &found);
  for (GList *l = found; l; l = l->next)
    if (g_strcmp0 (gtk_button_get_label (l->data), label) == 0)
      button = l->data;
  g_list_free (found);
  return button;
}

static char *
active_text (GtkWidget *combo)
{
  return GTK_IS_COMBO_BOX_TEXT (combo)
         ? gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (combo))
         : NULL;
}

/* ------------------------------------------------------------ download */

#define MIRROR "https://mirror.example.org/models/"

static gboolean
play_download (GtkWidget *dialog, int step, gpointer data)
{
  const char *folder = data;
  GtkWidget *arch = labelled (dialog, "_Architecture:");
  GtkWidget *url = labelled (dialog, "_From:");
  GtkWidget *bar = find_nth (dialog, GTK_TYPE_PROGRESS_BAR, 0);
  char *name = active_text (arch), *where;
  const char *address;

  if (!GTK_IS_ENTRY (url) || !bar || !name)
    {
      check (FALSE, "Download Checkpoint has its architectures, address "
             "and progress bar");
      g_free (name);
      gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CLOSE);
      return FALSE;
    }
  address = gtk_entry_get_text (GTK_ENTRY (url));
  switch (step)
    {
    case 0:
      check (strstr (address, name) && g_str_has_suffix (address, ".pth"),
             "Download Checkpoint: the address is the chosen "
             "architecture's checkpoint (%s: %s)", name, address);
      where = g_strdup_printf ("Saved into %s", folder);
      check (find_label (dialog, where) != NULL,
             "Download Checkpoint says where it saves (%s)", folder);
      g_free (where);
#if GTK_CHECK_VERSION (3, 0, 0)
      check (gtk_progress_bar_get_show_text (GTK_PROGRESS_BAR (bar))
             && g_strcmp0 (gtk_progress_bar_get_text (GTK_PROGRESS_BAR (bar)),
                           "") == 0,
             "Download Checkpoint's bar shows its text, none before a "
             "download (GTK 3 would show a percentage)");
#else
      skip ("Download Checkpoint's bar shows its text",
            "GTK 2 always shows it");
#endif
      gtk_entry_set_text (GTK_ENTRY (url), MIRROR "resnet18-f37072fd.pth");
      break;
    case 1:
      check (strcmp (name, "resnet18") == 0,
             "Download Checkpoint: a mirror's resnet18 file selects "
             "resnet18 (%s)", name);
      screenshot (dialog, "download");
      gtk_combo_box_set_active (GTK_COMBO_BOX (arch), 0);
      break;
    case 2:
      check (strstr (address, name) && !g_str_has_prefix (address, MIRROR),
             "Download Checkpoint: choosing an architecture shows its "
             "address again (%s: %s)", name, address);
      gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CLOSE);
      g_free (name);
      return FALSE;
    }
  g_free (name);
  return TRUE;
}

void
test_download_dialog (const char *const *folders)
{
  GtkWidget *window = gtk_window_new (GTK_WINDOW_TOPLEVEL);
  GtkWidget *combo = NULL;
  GtkWidget *chooser = convnet_ui_model_chooser (folders, "lenet5-fashion",
                                                 &combo);
  GtkWidget *download = find_button (chooser, "_Download…");
  Script s = { "Download Checkpoint", 0, 0, play_download,
               (gpointer) folders[0] };
  char *model;

  gtk_container_add (GTK_CONTAINER (window), chooser);
  gtk_widget_show_all (window);
  check (download != NULL, "the model chooser has a Download... button");
  if (!download)
    return;
  start_script (&s);

  /* the dialog's own loop runs until it closes */
  gtk_button_clicked (GTK_BUTTON (download));
  end_script (&s);
  model = active_text (combo);
  check (g_strcmp0 (model, "lenet5-fashion") == 0,
         "closed without a download, the chooser keeps its model (%s)",
         model ? model : "none");
  g_free (model);
  gtk_widget_destroy (window);
}

/* ----------------------------------------------------------- fine-tune */

#define IMAGES_PER_CLASS 8
#define MAX_TRAINING_STEPS 150

/* The classes: 28 x 28 grey images with some noise and a white bar
 * across them, upright or lying. */
static const struct { const char *name; gboolean upright; } made_up[] = {
  { "upright", TRUE }, { "lying", FALSE }
};

static char *
make_image (const char *folder, gboolean upright, int k)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 28, 28);
  guint8 *px = gdk_pixbuf_get_pixels (pixbuf);
  const int stride = gdk_pixbuf_get_rowstride (pixbuf);
  const int at = g_random_int_range (6, 22);
  char *file = g_strdup_printf ("%d.png", k);
  char *path = g_build_filename (folder, file, NULL);

  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++)
      {
        const int d = upright ? x - at : y - at;
        const int grey = ABS (d) <= 2 ? 240 : 40 + g_random_int_range (0, 40);

        for (int ch = 0; ch < 3; ch++)
          px[y * stride + 3 * x + ch] = grey;
      }
  if (!gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL))
    g_clear_pointer (&path, g_free);
  g_object_unref (pixbuf);
  g_free (file);
  return path;
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      char *child = g_build_filename (path, name, NULL);

      remove_tree (child);
      g_free (child);
    }
  if (dir)
    g_dir_close (dir);
  g_remove (path);
}

/* Files in FOLDER whose names start with PREFIX. */
static int
count_files (const char *folder, const char *prefix)
{
  GDir *dir = g_dir_open (folder, 0, NULL);
  const char *name;
  int n = 0;

  while (dir && (name = g_dir_read_name (dir)))
    n += g_str_has_prefix (name, prefix);
  if (dir)
    g_dir_close (dir);
  return n;
}

typedef struct
{
  int trained_at;       /* the step that saw the training end, or -1 */
  int temp_files;       /* the model being trained, while it is */
  const char *folder;
} Training;

/* Pixels of the curves' area in the dialog's picture: white, and in the
 * training loss's red and the training accuracy's blue. */
static void
curve_pixels (GtkWidget *dialog, GtkWidget *curves, int *white, int *red,
              int *blue, int *total)
{
  GdkPixbuf *pixbuf = grab (dialog);
  GtkAllocation a;
  int x0 = 0, y0 = 0;

  *white = *red = *blue = *total = 0;
  gtk_widget_get_allocation (curves, &a);
  if (!pixbuf
      || !gtk_widget_translate_coordinates (curves, dialog, 0, 0, &x0, &y0))
    return;
  for (int y = MAX (y0, 0);
       y < MIN (y0 + a.height, gdk_pixbuf_get_height (pixbuf)); y++)
    for (int x = MAX (x0, 0);
         x < MIN (x0 + a.width, gdk_pixbuf_get_width (pixbuf)); x++)
      {
        const guchar *p = gdk_pixbuf_get_pixels (pixbuf)
                          + y * gdk_pixbuf_get_rowstride (pixbuf)
                          + x * gdk_pixbuf_get_n_channels (pixbuf);

        (*total)++;
        *white += p[0] > 250 && p[1] > 250 && p[2] > 250;
        *red += p[0] > 150 && p[1] < 90 && p[2] < 90;
        *blue += p[2] > 150 && p[0] < 90 && p[1] < 110;
      }
  g_object_unref (pixbuf);
}

/* The confusion matrix's cells are where their class says: the cell of
 * true class C and predicted class P in row C and column P. */
static gboolean
matrix_laid_out (GtkWidget *dialog, int *cells)
{
  GtkWidget *corner = find_label (dialog, "true \\ predicted");
  GList *buttons = NULL;
  gboolean ok;

  *cells = 0;
  if (!corner)
    return FALSE;
  collect (gtk_widget_get_parent (corner), GTK_TYPE_BUTTON, &buttons);
  *cells = g_list_length (buttons);
  ok = *cells == G_N_ELEMENTS (made_up) * G_N_ELEMENTS (made_up);
  for (GList *i = buttons; i; i = i->next)
    for (GList *j = buttons; j; j = j->next)
      {
        const int ci = GPOINTER_TO_INT (g_object_get_data (i->data, "truth"));
        const int pi = GPOINTER_TO_INT (g_object_get_data (i->data, "predicted"));
        const int cj = GPOINTER_TO_INT (g_object_get_data (j->data, "truth"));
        const int pj = GPOINTER_TO_INT (g_object_get_data (j->data, "predicted"));
        GtkAllocation a, b;

        gtk_widget_get_allocation (i->data, &a);
        gtk_widget_get_allocation (j->data, &b);
        ok = ok && gtk_widget_get_mapped (i->data) && a.width > 0
             && (pi < pj) == (a.x < b.x) && (pi == pj) == (a.x == b.x)
             && (ci < cj) == (a.y < b.y) && (ci == cj) == (a.y == b.y);
      }
  g_list_free (buttons);
  return ok;
}

static gboolean
play_finetune (GtkWidget *dialog, int step, gpointer data)
{
  Training *run = data;
  GtkWidget *train = find_button (dialog, "_Train");
  GtkWidget *save = find_button (dialog, "_Save Model");
  GtkWidget *open = find_button (dialog, "_Open Project...");
  GtkWidget *close = gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog),
                                                         GTK_RESPONSE_CLOSE);
  GtkWidget *curves = find_nth (dialog, GTK_TYPE_DRAWING_AREA, 0);
  int white, red, blue, total, cells;
  gboolean laid_out;

  if (!train || !save || !open || !curves)
    {
      check (FALSE, "Fine-tune has its Train, Save Model and Open Project "
             "buttons and its curves");
      gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CLOSE);
      return FALSE;
    }
  if (step == 0)
    {
      check (gtk_widget_get_parent (open) == gtk_widget_get_parent (close),
             "Fine-tune: Open Project... is among the dialog's buttons");
      screenshot (dialog, "finetune-open");
      gtk_button_clicked (GTK_BUTTON (train));
      return TRUE;
    }
  if (run->trained_at < 0)
    {
      run->temp_files = MAX (run->temp_files,
                             count_files (run->folder, ".finetune-"));
      if (gtk_widget_get_sensitive (save))
        run->trained_at = step;
      else if (step > MAX_TRAINING_STEPS)
        {
          check (FALSE, "Fine-tune: the training ends within %d s",
                 MAX_TRAINING_STEPS * STEP_MS / 1000);
          gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CLOSE);
          return FALSE;
        }
      return TRUE;
    }
  /* a step later: the last epoch's curves and the matrix are drawn */
  curve_pixels (dialog, curves, &white, &red, &blue, &total);
  check (total > 0 && white > total / 2 && red > 20 && blue > 20,
         "Fine-tune: the curves are drawn, on white, with the training "
         "loss and accuracy (%d of %d pixels white, %d red, %d blue)",
         white, total, red, blue);
  laid_out = matrix_laid_out (dialog, &cells);
  check (laid_out,
         "Fine-tune: the confusion matrix shows a cell per pair of classes, "
         "true classes in rows and predicted in columns (%d cells)", cells);
  screenshot (dialog, "finetune-trained");
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CLOSE);
  return FALSE;
}

void
test_finetune_dialog (const char *const *folders)
{
  char *tmp = g_dir_make_tmp ("convnet-ui-smoke-XXXXXX", NULL);
  char *weights = g_build_filename (tmp, "weights", NULL);
  const char *tune_folders[3] = { weights, folders[0], NULL };
  ConvnetUiProject *project = convnet_ui_project_new ();
  Training run = { -1, 0, weights };
  Script s = { "Fine-tune", 0, 0, play_finetune, &run };
  gboolean made = TRUE;
  char *saved = NULL;

  g_mkdir_with_parents (weights, 0755);
  g_free (project->base_model);
  project->base_model = g_strdup ("lenet5-fashion");
  project->epochs = 5;
  project->validation_share = 0.25;
  project->augment = 0;
  for (guint c = 0; c < G_N_ELEMENTS (made_up); c++)
    {
      char *folder = g_build_filename (tmp, made_up[c].name, NULL);

      g_mkdir_with_parents (folder, 0755);
      convnet_ui_project_add_class (project, made_up[c].name);
      for (int k = 0; k < IMAGES_PER_CLASS; k++)
        {
          char *path = make_image (folder, made_up[c].upright, k);

          made = made && path;
          if (path)
            g_ptr_array_add (g_ptr_array_index (project->class_files, c),
                             path);
        }
      g_free (folder);
    }
  if (made)
    {
      start_script (&s);

      saved = convnet_ui_finetune_dialog (tune_folders, NULL, project);
      end_script (&s);
      check (run.trained_at > 0 && run.temp_files == 1 && saved == NULL
             && count_files (weights, "") == 0,
             "Fine-tune closed without saving leaves nothing in the weights "
             "folder (%d files; the model trained there was seen %s)",
             count_files (weights, ""), run.temp_files ? "once" : "never");
      g_free (saved);
    }
  else
    check (FALSE, "Fine-tune: its images could not be made in %s", tmp);
  convnet_ui_project_free (project);
  remove_tree (tmp);
  g_free (weights);
  g_free (tmp);
}
