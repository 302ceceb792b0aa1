/* ui_dialog_smoke.c: the plug-in's dialogs (Classify, Feature Maps, Where
 * It Looks, Download Checkpoint, Fine-tune with a training) and
 * gtk-compat.h's helpers, driven in a plain GTK program outside GIMP; the
 * same source and checks built against GTK 2 + libgimpui-2.0 and GTK 3 +
 * libgimpui-3.0.  The dialogs run as the plug-in runs them (their own
 * gimp_dialog_run loops); a timer plays the user.  Screenshots of the
 * dialogs go into ARTIFACTS.  TAP output.
 *
 * The 'ui' suite runs it under Xvfb (tests/ui_dialog_smoke.sh); for
 * GIMP 3: scripts/gimp3-root.sh run meson test -C BUILD --suite ui
 *
 * Usage: ui_dialog_smoke WEIGHTS_FOLDER ARTIFACTS (with a display) */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gtk-compat.h"
#include "ui.h"
#include "ui_smoke.h"

/* ------------------------------------------------------------ classify */

static const char *const fake_labels[] = {
  "Ankle boot", "Sneaker", "Sandal", "Bag", "Shirt", "Trouser", "Coat",
  "Dress", "Pullover", "T-shirt/top"
};
static const double fake_probabilities[] = {
  0.90, 0.05, 0.02, 0.01, 0.01, 0.004, 0.003, 0.002, 0.0005, 0.0005
};

/* as long as the registry's errors can be */
#define FAKE_ERROR "no model named %s in the weights folders " \
  "(/home/someone/.config/GIMP/3.0/gimp-convnet/weights, " \
  "/home/someone/.local/share/gimp-convnet/weights, " \
  "/usr/share/gimp-convnet)"

typedef struct
{
  char     *model;       /* what the dialog asked for */
  int       top_k;
  int       calls;
  gboolean  fail;
} FakeClassifier;

static gboolean
fake_classify (const char *model, int top_k, char ***labels,
               double **probabilities, int *n, gpointer user_data,
               GError **error)
{
  FakeClassifier *f = user_data;

  g_free (f->model);
  f->model = g_strdup (model);
  f->top_k = top_k;
  f->calls++;
  if (f->fail)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                   FAKE_ERROR, model);
      return FALSE;
    }
  *n = MIN (top_k, (int) G_N_ELEMENTS (fake_labels));
  *labels = g_new0 (char *, *n + 1);
  *probabilities = g_new (double, *n);
  for (int k = 0; k < *n; k++)
    {
      (*labels)[k] = g_strdup (fake_labels[k]);
      (*probabilities)[k] = fake_probabilities[k];
    }
  return TRUE;
}

static gboolean
play_classify (GtkWidget *dialog, int step, gpointer data)
{
  FakeClassifier *f = data;
  GtkWidget *spin = find_nth (dialog, GTK_TYPE_SPIN_BUTTON, 0);
  GtkWidget *combo = labelled (dialog, "_Model:");
  char *active, *message;
  int needs = 0, has = 0;
  gboolean whole;
  guint bars;

  switch (step)
    {
    case 0:
      active = GTK_IS_COMBO_BOX_TEXT (combo)
               ? gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (combo))
               : NULL;
      check (g_strcmp0 (active, "lenet5-fashion") == 0,
             "Classify: the model chooser shows the model asked for (%s)",
             active ? active : "none");
      g_free (active);
      check (spin && labelled (dialog, "_Top classes:") == spin,
             "Classify: Alt+T goes to the top-K spin button");
      check (spin && gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (spin)) == 5,
             "Classify: the spin button starts at the top K given (5)");
      whole = shows_whole (dialog, "Press Classify to run the model on the "
                           "selection.", &needs, &has);
      check (whole, "Classify: its first message shows whole (needs %d pixels, "
             "has %d)", needs, has);
      screenshot (dialog, "classify-open");
      if (spin)
        gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), 3);
      gtk_dialog_response (GTK_DIALOG (dialog), 1);
      return TRUE;
    case 1:
      bars = count (dialog, GTK_TYPE_PROGRESS_BAR);
      check (f->calls == 1 && f->top_k == 3
             && g_strcmp0 (f->model, "lenet5-fashion") == 0,
             "Classify asks for the chosen model and top K (%d calls, %s, %d)",
             f->calls, f->model ? f->model : "none", f->top_k);
      check (bars == 3, "Classify shows a bar per class (%u)", bars);
      if (bars == 3)
        {
          GtkProgressBar *first = GTK_PROGRESS_BAR (find_nth (dialog, GTK_TYPE_PROGRESS_BAR, 0));
          GtkProgressBar *last = GTK_PROGRESS_BAR (find_nth (dialog, GTK_TYPE_PROGRESS_BAR, 2));

          check (g_strcmp0 (gtk_progress_bar_get_text (first), "Ankle boot  90.0%") == 0
                 && g_strcmp0 (gtk_progress_bar_get_text (last), "Sandal  2.0%") == 0
                 && gtk_progress_bar_get_fraction (first) == 0.90
                 && gtk_progress_bar_get_fraction (last) == 0.02,
                 "the bars read the classes and their probabilities, best "
                 "first (%s, %s)", gtk_progress_bar_get_text (first),
                 gtk_progress_bar_get_text (last));
#if GTK_CHECK_VERSION (3, 0, 0)
          check (gtk_progress_bar_get_show_text (first),
                 "the bars show their text (GTK 3 hides it unless asked)");
#else
          skip ("the bars show their text", "GTK 2 always shows it");
#endif
        }
      screenshot (dialog, "classify-result");
      f->fail = TRUE;
      gtk_dialog_response (GTK_DIALOG (dialog), 1);
      return TRUE;
    case 2:
      bars = count (dialog, GTK_TYPE_PROGRESS_BAR);
      message = g_strdup_printf (FAKE_ERROR, "lenet5-fashion");
      check (bars == 0 && find_label (dialog, message) != NULL,
             "a failed Classify shows its error in place of the bars");
      g_free (message);
      return TRUE;
    case 3:
      message = g_strdup_printf (FAKE_ERROR, "lenet5-fashion");
      whole = shows_whole (dialog, message, &needs, &has);
      check (whole, "Classify: a long error shows whole (needs %d pixels, has %d)",
             needs, has);
      g_free (message);
      screenshot (dialog, "classify-error");
      gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CLOSE);
      return FALSE;
    }
  return FALSE;
}

static void
test_classify (const char *const *folders)
{
  FakeClassifier f = { NULL, 0, 0, FALSE };
  Script s = { "Classify", 0, 0, play_classify, &f };
  char model[64] = "lenet5-fashion";
  char **labels = NULL;
  double *probabilities = NULL;
  int top_k = 5, n = 0;
  gboolean got;

  start_script (&s);

  got = convnet_ui_classify_dialog (folders, model, sizeof model, &top_k,
                                    fake_classify, &f, &labels,
                                    &probabilities, &n);
  end_script (&s);
  /* the last Classify failed: the dialog says it has no result */
  check (!got && top_k == 3,
         "Classify returns no result after a failed classification, and "
         "the top K chosen (%d)", top_k);
  g_free (f.model);
}

/* A Classify whose result the dialog returns: Classify, then Close. */
static gboolean
play_classify_once (GtkWidget *dialog, int step, gpointer data)
{
  (void) data;
  gtk_dialog_response (GTK_DIALOG (dialog),
                       step == 0 ? 1 : GTK_RESPONSE_CLOSE);
  return step == 0;
}

static void
test_classify_result (const char *const *folders)
{
  FakeClassifier f = { NULL, 0, 0, FALSE };
  Script s = { "Classify", 0, 0, play_classify_once, &f };
  char model[64] = "lenet5-fashion";
  char **labels = NULL;
  double *probabilities = NULL;
  int top_k = 2, n = 0;
  gboolean got;

  start_script (&s);

  got = convnet_ui_classify_dialog (folders, model, sizeof model, &top_k,
                                    fake_classify, &f, &labels,
                                    &probabilities, &n);
  end_script (&s);
  check (got && n == 2 && labels && g_strcmp0 (labels[0], "Ankle boot") == 0
         && probabilities[1] == 0.05,
         "Classify then Close returns the classification (%d classes)", n);
  g_strfreev (labels);
  g_free (probabilities);
  g_free (f.model);
}

/* -------------------------------------------------------- feature maps */

static gboolean
select_row_labelled (GtkComboBox *combo, const char *prefix)
{
  GtkTreeModel *model = gtk_combo_box_get_model (combo);
  GtkTreeIter iter;
  gboolean more = gtk_tree_model_get_iter_first (model, &iter);

  while (more)
    {
      char *text = NULL;
      gboolean match;

      gtk_tree_model_get (model, &iter, 0, &text, -1);
      match = g_str_has_prefix (text, prefix);
      g_free (text);
      if (match)
        {
          gtk_combo_box_set_active_iter (combo, &iter);
          return TRUE;
        }
      more = gtk_tree_model_iter_next (model, &iter);
    }
  return FALSE;
}

static char *
active_row_label (GtkComboBox *combo)
{
  GtkTreeIter iter;
  char *text = NULL;

  if (gtk_combo_box_get_active_iter (combo, &iter))
    gtk_tree_model_get (gtk_combo_box_get_model (combo), &iter, 0, &text, -1);
  return text;
}

static gboolean
play_feature_maps (GtkWidget *dialog, int step, gpointer data)
{
  GtkWidget *nodes = NULL, *spin, *tiled;
  GtkAllocation spin_size, nodes_size;
  GList *combos = NULL;
  char *text;

  (void) data;
  if (step == 0)
    {
      /* the model chooser first, then the node list (not a text combo) */
      collect (dialog, GTK_TYPE_COMBO_BOX, &combos);
      for (GList *l = combos; l; l = l->next)
        if (!GTK_IS_COMBO_BOX_TEXT (l->data) && !nodes)
          nodes = l->data;
      g_list_free (combos);
      spin = find_nth (dialog, GTK_TYPE_SPIN_BUTTON, 0);
      tiled = find_nth (dialog, GTK_TYPE_CHECK_BUTTON, 0);
      text = nodes ? active_row_label (GTK_COMBO_BOX (nodes)) : NULL;
      check (g_strcmp0 (text, "4  (16 x 10 x 10)") == 0,
             "Feature Maps: the layers of the chosen model are listed with "
             "their shapes, its last convolutional block chosen (%s)",
             text ? text : "none");
      g_free (text);
      check (nodes && labelled (dialog, "_Layer:") == nodes,
             "Feature Maps: Alt+L goes to the layer list");
      if (!nodes || !spin || !tiled)
        {
          check (FALSE, "Feature Maps has its layer list, spin button and "
                 "check button");
          gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
          return FALSE;
        }
      gtk_widget_get_allocation (spin, &spin_size);
      gtk_widget_get_allocation (nodes, &nodes_size);
      /* left_align: the spin button keeps its width, at the left */
      check (spin_size.x == nodes_size.x
             && spin_size.width < nodes_size.width / 2,
             "Feature Maps: the spin button keeps its width at the left of "
             "its column (x %d, width %d; the layer list's x %d, width %d)",
             spin_size.x, spin_size.width, nodes_size.x, nodes_size.width);
      screenshot (dialog, "feature-maps");
      check (select_row_labelled (GTK_COMBO_BOX (nodes), "3  ("),
             "Feature Maps lists layer 3");
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), 7);
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (tiled), TRUE);
      gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_OK);
    }
  return FALSE;
}

static void
test_feature_maps (const char *const *folders)
{
  Script s = { "Feature Maps", 0, 0, play_feature_maps, NULL };
  char model[64] = "lenet5-fashion", node[64] = "";
  int channels = 0;
  gboolean grid = FALSE, ok;

  start_script (&s);

  ok = convnet_ui_feature_maps_dialog (folders, model, sizeof model, node,
                                       sizeof node, &channels, &grid);
  end_script (&s);
  check (ok && strcmp (model, "lenet5-fashion") == 0
         && strcmp (node, "3") == 0 && channels == 7 && grid,
         "Feature Maps' OK returns the model, layer, channels and tiling "
         "chosen (%s, %s, %d, %d)", model, node, channels, grid);
}

/* ------------------------------------------------------------ saliency */

static gboolean
play_saliency (GtkWidget *dialog, int step, gpointer data)
{
  GtkWidget *classes = labelled (dialog, "C_lass:");
  GtkWidget *entry = labelled (dialog, "La_yer:");
  GtkTreeModel *model;

  (void) data;
  if (!GTK_IS_COMBO_BOX_TEXT (classes) || !GTK_IS_ENTRY (entry))
    {
      check (FALSE, "Where It Looks has its class list and layer entry");
      gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
      return FALSE;
    }
  model = gtk_combo_box_get_model (GTK_COMBO_BOX (classes));
  switch (step)
    {
    case 0:
      check (gtk_tree_model_iter_n_children (model, NULL) == 1,
             "Where It Looks: before Find Classes only the top class is "
             "offered");
      screenshot (dialog, "saliency-open");
      gtk_dialog_response (GTK_DIALOG (dialog), 1);
      return TRUE;
    case 1:
      check (gtk_tree_model_iter_n_children (model, NULL) == 11,
             "Find Classes lists the model's top 10 classes after the top "
             "class (%d rows)", gtk_tree_model_iter_n_children (model, NULL));
      gtk_combo_box_set_active (GTK_COMBO_BOX (classes), 2);
      gtk_entry_set_text (GTK_ENTRY (entry), "3");
      return TRUE;
    case 2:
      screenshot (dialog, "saliency");
      gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_OK);
      return FALSE;
    }
  return FALSE;
}

static void
test_saliency (const char *const *folders)
{
  FakeClassifier f = { NULL, 0, 0, FALSE };
  Script s = { "Where the Network Looks", 0, 0, play_saliency, NULL };
  char model[64] = "lenet5-fashion", node[64] = "", label[64] = "";
  gboolean ok;

  start_script (&s);

  ok = convnet_ui_saliency_dialog (folders, model, sizeof model, node,
                                   sizeof node, label, sizeof label,
                                   fake_classify, &f);
  end_script (&s);
  check (ok && strcmp (label, "Sneaker") == 0 && strcmp (node, "3") == 0
         && f.top_k == 10,
         "Where It Looks' OK returns the class and layer chosen (%s, %s)",
         label, node);
  g_free (f.model);
}

/* ------------------------------------------------------------- helpers */

#define BORDER 30

static gboolean
draw_square (GtkWidget *widget, cairo_t *cr, gpointer data)
{
  int *draws = data;

  (void) widget;
  (*draws)++;
  cairo_set_source_rgb (cr, 0, 0, 1);
  cairo_paint (cr);
  cairo_set_source_rgb (cr, 1, 0, 0);
  cairo_rectangle (cr, 10, 10, 10, 10);
  cairo_fill (cr);
  return TRUE;
}

static const char *
pixel_colour (GdkPixbuf *pixbuf, int x, int y)
{
  const guchar *p = gdk_pixbuf_get_pixels (pixbuf)
                    + y * gdk_pixbuf_get_rowstride (pixbuf)
                    + x * gdk_pixbuf_get_n_channels (pixbuf);

  return p[0] > 200 && p[1] < 50 && p[2] < 50 ? "red"
         : p[0] < 50 && p[1] < 50 && p[2] > 200 ? "blue" : "other";
}

static gboolean
quit_soon (gpointer data)
{
  (void) data;
  gtk_main_quit ();
  return G_SOURCE_REMOVE;
}

/* compat_widget_connect_draw paints a widget with its own window and one
 * drawing on its parent's, both from the widget's top left corner. */
static void
test_draw (gboolean own_window)
{
  GtkWidget *window = gtk_window_new (GTK_WINDOW_TOPLEVEL);
  GtkWidget *area = gtk_drawing_area_new ();
  GdkPixbuf *pixbuf;
  int draws = 0;

  gtk_widget_set_has_window (area, own_window);
  gtk_container_set_border_width (GTK_CONTAINER (window), BORDER);
  gtk_widget_set_size_request (area, 40, 40);
  gtk_container_add (GTK_CONTAINER (window), area);
  compat_widget_connect_draw (area, draw_square, &draws);
  gtk_widget_show_all (window);
  g_timeout_add (STEP_MS, quit_soon, NULL);
  gtk_main ();
  pixbuf = grab (window);
  check (draws > 0 && pixbuf
         && strcmp (pixel_colour (pixbuf, BORDER + 15, BORDER + 15), "red") == 0
         && strcmp (pixel_colour (pixbuf, BORDER + 5, BORDER + 5), "blue") == 0
         && strcmp (pixel_colour (pixbuf, BORDER + 35, BORDER + 35), "blue") == 0
         && strcmp (pixel_colour (pixbuf, BORDER - 5, BORDER - 5), "other") == 0,
         "a drawing function paints its widget (%s), placed at the "
         "widget's corner (%d draws)",
         own_window ? "with a window" : "on its parent's window", draws);
  if (pixbuf)
    g_object_unref (pixbuf);
  gtk_widget_destroy (window);
}

static void
test_dialog_button (void)
{
  GtkWidget *dialog = gimp_dialog_new ("Buttons", PLUG_IN_ROLE, NULL, 0,
                                       NULL, NULL,
                                       "_Close", GTK_RESPONSE_CLOSE, NULL);
  GtkWidget *close = gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog),
                                                         GTK_RESPONSE_CLOSE);
  GtkWidget *extra = gtk_button_new_with_mnemonic ("_Open Project...");
  GtkAllocation a, b;

  compat_dialog_pack_button (dialog, extra);
  gtk_widget_show_all (dialog);
  g_timeout_add (STEP_MS, quit_soon, NULL);
  gtk_main ();
  gtk_widget_get_allocation (extra, &a);
  gtk_widget_get_allocation (close, &b);
  check (gtk_widget_get_mapped (extra)
         && gtk_widget_get_parent (extra) == gtk_widget_get_parent (close)
         && a.y == b.y && a.x != b.x,
         "a button packed into a dialog's buttons shows in their row");
  gtk_widget_destroy (dialog);
}

static double
luminance (const double rgb[3])
{
  return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
}

static void
test_selection_colours (void)
{
  GtkWidget *window = gtk_window_new (GTK_WINDOW_TOPLEVEL);
  GtkWidget *view = gtk_tree_view_new ();
  double background[3], text[3];

  gtk_container_add (GTK_CONTAINER (window), view);
  gtk_widget_show_all (window);
  compat_widget_get_selection_colours (view, background, text);
  check (fabs (luminance (background) - luminance (text)) > 0.3,
         "a tree view's selection colours are the theme's (background "
         "%.2f %.2f %.2f, text %.2f %.2f %.2f)", background[0],
         background[1], background[2], text[0], text[1], text[2]);
  gtk_widget_destroy (window);
}

int
main (int argc, char **argv)
{
  const char *folders[2] = { NULL, NULL };

  if (argc != 3)
    {
      fprintf (stderr, "usage: %s WEIGHTS_FOLDER ARTIFACTS\n", argv[0]);
      return 2;
    }
  folders[0] = argv[1];
  if (!gtk_init_check (&argc, &argv))
    {
      printf ("1..0 # SKIP no display\n");
      return 77;
    }
  smoke_init (argv[2]);
  printf ("# GTK %d.%d.%d\n", gtk_major_version, gtk_minor_version,
          gtk_micro_version);

  test_classify (folders);
  test_classify_result (folders);
  test_feature_maps (folders);
  test_saliency (folders);
  test_draw (TRUE);
  test_draw (FALSE);
  test_dialog_button ();
  test_selection_colours ();
  test_download_dialog (folders);
  test_finetune_dialog (folders);

  return smoke_finish ();
}
