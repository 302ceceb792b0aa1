/* finetune_training.c: the fine-tune dialog's training: on a worker thread
 * so the dialog stays live, with loss and accuracy curves drawn as epochs
 * end, a Cancel honoured at the next batch, and the results (per-class
 * accuracy, a confusion matrix whose cells show the misclassified images)
 * before the model is saved under a name. */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "finetune_dialog.h"
#include "gtk-compat.h"

typedef struct
{
  Tune                 *t;
  ConvnetTrainProgress  p;
} ProgressUpdate;

/* ------------------------------------------------------------- curves */

/* The four curves: loss on a scale up to its largest value (right), and
 * accuracy from 0 to 1 (left); validation dashed. */
static const struct
{
  gsize       offset;
  const char *label;
  double      r, g, b;
  gboolean    loss, dashed;
} curves[] = {
  { G_STRUCT_OFFSET (EpochPoint, train_loss), N_("Training loss"),
    0.8, 0.1, 0.1, TRUE, FALSE },
  { G_STRUCT_OFFSET (EpochPoint, val_loss), N_("Validation loss"),
    0.95, 0.5, 0.5, TRUE, TRUE },
  { G_STRUCT_OFFSET (EpochPoint, train_accuracy), N_("Training accuracy"),
    0.1, 0.2, 0.8, FALSE, FALSE },
  { G_STRUCT_OFFSET (EpochPoint, val_accuracy), N_("Validation accuracy"),
    0.4, 0.6, 1.0, FALSE, TRUE },
};

typedef struct
{
  double left, top, width, height;
} PlotArea;

static void
set_curve_style (cairo_t *cr, guint c)
{
  static const double dash[] = { 5.0, 3.0 };

  cairo_set_source_rgb (cr, curves[c].r, curves[c].g, curves[c].b);
  cairo_set_line_width (cr, 1.5);
  cairo_set_dash (cr, dash, curves[c].dashed ? 2 : 0, 0);
}

static void
plot (cairo_t *cr, Tune *t, const PlotArea *area, guint c, double scale)
{
  gboolean started = FALSE;

  set_curve_style (cr, c);
  for (guint i = 0; i < t->points->len; i++)
    {
      const EpochPoint *e = &g_array_index (t->points, EpochPoint, i);
      const double v = *(const double *) ((const char *) e + curves[c].offset);
      const double x = area->left + area->width * e->epoch
                                    / MAX (1, t->project->epochs);
      const double y = area->top + area->height
                       * (1.0 - CLAMP (v / scale, 0.0, 1.0));

      if (v < 0)
        continue;       /* no validation images */
      if (started)
        cairo_line_to (cr, x, y);
      else
        cairo_move_to (cr, x, y);
      started = TRUE;
    }
  cairo_stroke (cr);
}

/* TEXT with its anchor point X, Y: XALIGN and YALIGN 0 for the text's
 * left or top, 0.5 its middle, 1 its right or bottom. */
static void
show_text (cairo_t *cr, GtkWidget *widget, const char *text, double x,
           double y, double xalign, double yalign)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, text);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, x - xalign * w, y - yalign * h);
  pango_cairo_show_layout (cr, layout);
  g_object_unref (layout);
}

static int
text_width (GtkWidget *widget, const char *text, int *height)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, text);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  g_object_unref (layout);
  if (height)
    *height = h;
  return w;
}

/* 1, 2, 5, 10, 20, 50... epochs between labelled ticks: as few as keep
 * the labels of EPOCHS epochs apart in WIDTH pixels. */
static int
epoch_step (int epochs, double width, int label_width)
{
  const int fits = MAX (1, (int) (width / (label_width + 12)));

  for (int step = 1;; step *= 10)
    for (int k = 0; k < 3; k++)
      {
        const int s = step * (k == 0 ? 1 : k == 1 ? 2 : 5);
        if (epochs / s <= fits)
          return s;
      }
}

static void
draw_legend (cairo_t *cr, GtkWidget *widget, double left, double top,
             double width, int line_height)
{
  int column = 0;

  for (guint c = 0; c < G_N_ELEMENTS (curves); c++)
    column = MAX (column, text_width (widget, gettext (curves[c].label),
                                      NULL) + 34);
  for (guint c = 0; c < G_N_ELEMENTS (curves); c++)
    {
      const int per_row = MAX (1, (int) (width / column));
      const double x = left + (c % per_row) * column;
      const double y = top + (c / per_row) * (line_height + 2);

      set_curve_style (cr, c);
      cairo_move_to (cr, x, y + line_height / 2.0);
      cairo_line_to (cr, x + 22, y + line_height / 2.0);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0.15, 0.15, 0.15);
      show_text (cr, widget, gettext (curves[c].label), x + 28, y, 0, 0);
    }
}

static gboolean
draw_curves (GtkWidget *widget, cairo_t *cr, gpointer data)
{
  Tune *t = data;
  const int epochs = MAX (1, t->project->epochs);
  GtkAllocation a;
  PlotArea area;
  double max_loss = 0.0;
  char *text;
  int line, label_width, step;

  gtk_widget_get_allocation (widget, &a);
  text = g_strdup_printf ("%d", epochs);
  label_width = text_width (widget, text, &line);
  g_free (text);
  area.left = text_width (widget, "1.0", NULL) + 8;
  area.top = line / 2 + 2;
  area.width = a.width - area.left - text_width (widget, "0.000", NULL) - 8;
  /* below the plot: tick labels, the axis title and two legend rows */
  area.height = a.height - area.top - 4 * line - 16;
  for (guint i = 0; i < t->points->len; i++)
    {
      const EpochPoint *e = &g_array_index (t->points, EpochPoint, i);
      max_loss = MAX (max_loss, MAX (e->train_loss, e->val_loss));
    }

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_set_source_rgb (cr, 0.6, 0.6, 0.6);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, area.left, area.top, area.width, area.height);
  cairo_stroke (cr);

  /* the epoch axis */
  step = epoch_step (epochs, area.width, label_width);
  for (int e = 0; e <= epochs; e += step)
    {
      const double x = area.left + area.width * e / epochs;
      cairo_set_source_rgb (cr, 0.6, 0.6, 0.6);
      cairo_move_to (cr, x, area.top + area.height);
      cairo_line_to (cr, x, area.top + area.height + 4);
      cairo_stroke (cr);
      text = g_strdup_printf ("%d", e);
      cairo_set_source_rgb (cr, 0.15, 0.15, 0.15);
      show_text (cr, widget, text, x, area.top + area.height + 5, 0.5, 0);
      g_free (text);
    }
  show_text (cr, widget, _("Epoch"), area.left + area.width / 2,
             area.top + area.height + 5 + line, 0.5, 0);

  /* accuracy's scale on the left, loss's on the right, in their colours */
  cairo_set_source_rgb (cr, curves[2].r, curves[2].g, curves[2].b);
  show_text (cr, widget, "1.0", area.left - 4, area.top, 1, 0.5);
  show_text (cr, widget, "0", area.left - 4, area.top + area.height, 1, 0.5);
  if (max_loss > 0)
    {
      text = g_strdup_printf ("%.3g", max_loss);
      cairo_set_source_rgb (cr, curves[0].r, curves[0].g, curves[0].b);
      show_text (cr, widget, text, area.left + area.width + 4, area.top, 0,
                 0.5);
      show_text (cr, widget, "0", area.left + area.width + 4,
                 area.top + area.height, 0, 0.5);
      g_free (text);
    }

  for (guint c = 0; c < G_N_ELEMENTS (curves); c++)
    plot (cr, t, &area, c, curves[c].loss ? MAX (max_loss, 1e-6) : 1.0);
  draw_legend (cr, widget, area.left, area.top + area.height + 10 + 2 * line,
               a.width - area.left, line);
  return TRUE;
}

GtkWidget *
tune_curves_new (Tune *t)
{
  GtkWidget *area = gtk_drawing_area_new ();
  int line;

  text_width (area, "0", &line);
  gtk_widget_set_size_request (area, 320, 110 + 4 * line + 16);
  compat_widget_connect_draw (area, draw_curves, t);
  gimp_help_set_help_data (area,
                           _("Loss (red, its scale on the right) and "
                             "accuracy (blue, from 0 to 1 on the left) "
                             "after each epoch, on the training images "
                             "(solid) and the validation images (dashed)."),
                           NULL);
  return area;
}

/* ----------------------------------------------------------- training */

static gboolean
show_progress (gpointer data)
{
  ProgressUpdate *u = data;
  Tune *t = u->t;
  const ConvnetTrainProgress *p = &u->p;

  if (strcmp (p->stage, "features") == 0)
    {
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (t->progress),
                                 _("Computing features"));
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (t->progress),
                                     p->total ? (double) p->done / p->total : 0);
    }
  else
    {
      char *text = g_strdup_printf (_("Epoch %d of %d"), p->epoch, p->epochs);
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (t->progress), text);
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (t->progress),
                                     (p->epoch - 1 + (p->epoch_done ? 1.0
                                        : (double) p->done / MAX (1, p->total)))
                                     / MAX (1, p->epochs));
      g_free (text);
      if (p->epoch_done)
        {
          EpochPoint e = { p->epoch, p->train_loss, p->train_accuracy,
                           p->val_loss, p->val_accuracy };
          g_array_append_val (t->points, e);
          gtk_widget_queue_draw (t->curves);
          /* for whoever watches the dialog (its GUI test): the epoch
           * counter and when it moved, in seconds since 1970 */
          g_debug ("fine-tune: epoch %d of %d ended at %.3f", p->epoch,
                   p->epochs, g_get_real_time () / 1e6);
        }
    }
  g_free (u);
  return G_SOURCE_REMOVE;
}

/* Runs on the worker thread: hands a copy to the main loop, and answers
 * whether to go on. */
static gboolean
on_progress (const ConvnetTrainProgress *p, gpointer user_data)
{
  Tune *t = user_data;
  ProgressUpdate *u = g_new (ProgressUpdate, 1);

  u->t = t;
  u->p = *p;
  g_idle_add (show_progress, u);
  return !g_atomic_int_get (&t->cancel);
}

static void
show_misclassified (GtkWidget *button, Tune *t)
{
  const int truth = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "truth"));
  const int predicted = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "predicted"));
  GtkWidget *window = gtk_dialog_new_with_buttons (_("Images in this cell"),
                                                   GTK_WINDOW (t->dialog), 0,
                                                   _("_Close"), GTK_RESPONSE_CLOSE,
                                                   NULL);
  GtkWidget *box = compat_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  const ConvnetEvaluation *e = &t->result.validation;

  for (guint i = 0; i < e->n; i++)
    {
      const guint sample = g_array_index (t->result.validation_indices, guint, i);
      if (t->data->labels[sample] != truth || (int) e->predictions[i] != predicted)
        continue;
      GdkPixbuf *pixbuf = gdk_pixbuf_new_from_file_at_size (t->data->paths[sample],
                                                            96, 96, NULL);
      if (pixbuf)
        {
          gtk_box_pack_start (GTK_BOX (box), gtk_image_new_from_pixbuf (pixbuf),
                              FALSE, FALSE, 0);
          g_object_unref (pixbuf);
        }
    }
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (window))),
                      box, TRUE, TRUE, 6);
  gtk_widget_show_all (window);
  gtk_dialog_run (GTK_DIALOG (window));
  gtk_widget_destroy (window);
}

static void
show_results (Tune *t)
{
  const ConvnetEvaluation *e = &t->result.validation;
  const int n = e->n_classes;
  GtkWidget *grid = compat_grid_new (0, 0);
  GList *old = gtk_container_get_children (GTK_CONTAINER (t->results));

  for (GList *l = old; l; l = l->next)
    gtk_widget_destroy (l->data);
  g_list_free (old);
  compat_grid_attach (grid, gtk_label_new (_("true \\ predicted")), 0, 0, 1, 1,
                      TRUE, TRUE);
  for (int c = 0; c < n; c++)
    {
      char *acc = isnan (e->class_accuracy[c]) ? g_strdup ("-")
                  : g_strdup_printf ("%.0f%%", 100.0 * e->class_accuracy[c]);
      compat_grid_attach (grid, gtk_label_new (t->result.class_names[c]),
                          c + 1, 0, 1, 1, TRUE, TRUE);
      compat_grid_attach (grid, gtk_label_new (t->result.class_names[c]),
                          0, c + 1, 1, 1, TRUE, TRUE);
      compat_grid_attach (grid, gtk_label_new (acc), n + 1, c + 1, 1, 1,
                          TRUE, TRUE);
      g_free (acc);
      for (int p = 0; p < n; p++)
        {
          char *count = g_strdup_printf ("%u", e->confusion[c * n + p]);
          GtkWidget *cell = gtk_button_new_with_label (count);
          g_object_set_data (G_OBJECT (cell), "truth", GINT_TO_POINTER (c));
          g_object_set_data (G_OBJECT (cell), "predicted", GINT_TO_POINTER (p));
          g_signal_connect (cell, "clicked", G_CALLBACK (show_misclassified), t);
          compat_grid_attach (grid, cell, p + 1, c + 1, 1, 1, TRUE, TRUE);
          g_free (count);
        }
    }
  gtk_box_pack_start (GTK_BOX (t->results), grid, FALSE, FALSE, 0);
  gtk_widget_show_all (t->results);
}

static gboolean
training_done (gpointer data)
{
  Tune *t = data;

  if (t->thread)
    {
      g_thread_join (t->thread);
      t->thread = NULL;
    }
  gtk_widget_set_sensitive (t->train_button, TRUE);
  gtk_widget_set_sensitive (t->cancel_button, FALSE);
  g_debug ("fine-tune: training %s at %.3f",
           !t->error ? "completed"
           : g_error_matches (t->error, CONVNET_ERROR, CONVNET_ERROR_CANCELLED)
           ? "cancelled" : "failed", g_get_real_time () / 1e6);
  if (t->error)
    {
      /* a cancelled or failed training leaves no file behind */
      if (t->temp_path)
        g_unlink (t->temp_path);
      g_clear_pointer (&t->temp_path, g_free);
      gtk_label_set_text (GTK_LABEL (t->status),
                          g_error_matches (t->error, CONVNET_ERROR,
                                           CONVNET_ERROR_CANCELLED)
                          ? _("Training cancelled.") : t->error->message);
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (t->progress), "");
      g_clear_error (&t->error);
    }
  else
    {
      char *text = g_strdup_printf (_("Validation accuracy %.1f%% on %u images"),
                                    100.0 * t->result.validation.accuracy,
                                    t->result.validation.n);
      gtk_label_set_text (GTK_LABEL (t->status), text);
      g_free (text);
      show_results (t);
      gtk_widget_set_sensitive (t->save_button, TRUE);
    }
  return G_SOURCE_REMOVE;
}

static gpointer
train_thread (gpointer data)
{
  Tune *t = data;
  ConvnetFinetuneSettings s;
  char *base_path;
  const char *arch;

  convnet_finetune_defaults (&s);
  base_path = convnet_model_registry_resolve (t->folders, t->project->base_model,
                                              &arch, &t->error);
  if (base_path)
    {
      s.base_weights = base_path;
      s.base_arch = arch;
      s.epochs = t->project->epochs;
      s.lr = t->project->lr;
      s.validation_share = t->project->validation_share;
      s.train_last_block = t->project->train_last_block;
      s.augment = t->project->augment;
      s.callback = on_progress;
      s.user_data = t;
      convnet_finetune (&s, t->data, t->temp_path, &t->result, &t->error);
    }
  g_free (base_path);
  g_idle_add (training_done, t);
  return NULL;
}

void
tune_read_settings (Tune *t)
{
  char *model = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (t->model));

  if (model)
    {
      g_free (t->project->base_model);
      t->project->base_model = model;
    }
  t->project->epochs = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (t->epochs));
  t->project->lr = gtk_spin_button_get_value (GTK_SPIN_BUTTON (t->lr));
  t->project->validation_share = gtk_spin_button_get_value (GTK_SPIN_BUTTON (t->share));
  t->project->train_last_block =
    gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (t->last_block));
  t->project->augment = 0;
  for (guint i = 0; i < G_N_ELEMENTS (augmentations); i++)
    if (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (t->augment[i])))
      t->project->augment |= augmentations[i].flag;
}

void
tune_on_train (GtkWidget *button, Tune *t)
{
  GPtrArray *skipped = g_ptr_array_new_with_free_func (g_free);
  GError *error = NULL;
  int fd;

  (void) button;
  tune_read_settings (t);
  for (guint c = 0; c < t->project->class_names->len; c++)
    if (tune_class_files (t, c)->len < 2)
      {
        char *text = g_strdup_printf (_("Class “%s” needs at least 2 images."),
                                      (char *) g_ptr_array_index (t->project->class_names, c));
        gtk_label_set_text (GTK_LABEL (t->status), text);
        g_free (text);
        g_ptr_array_unref (skipped);
        return;
      }
  g_clear_pointer (&t->data, convnet_dataset_free);
  t->data = convnet_dataset_from_files ((const char *const *) t->project->class_names->pdata,
                                        (GPtrArray *const *) t->project->class_files->pdata,
                                        t->project->class_names->len, skipped,
                                        &error);
  if (skipped->len)
    {
      char *joined;
      g_ptr_array_add (skipped, NULL);
      joined = g_strjoinv ("\n", (char **) skipped->pdata);
      g_message (_("Skipped files that are not readable images:\n%s"), joined);
      g_free (joined);
    }
  g_ptr_array_unref (skipped);
  if (!t->data)
    {
      gtk_label_set_text (GTK_LABEL (t->status), error->message);
      g_error_free (error);
      return;
    }

  /* the model is written here, and renamed only when the user saves */
  g_mkdir_with_parents (t->folders[0], 0755);
  if (t->temp_path)
    g_unlink (t->temp_path);
  g_free (t->temp_path);
  t->temp_path = g_build_filename (t->folders[0], ".finetune-XXXXXX", NULL);
  fd = g_mkstemp (t->temp_path);
  if (fd >= 0)
    close (fd);
  convnet_finetune_result_clear (&t->result);
  g_array_set_size (t->points, 0);
  gtk_widget_queue_draw (t->curves);
  gtk_widget_set_sensitive (t->train_button, FALSE);
  gtk_widget_set_sensitive (t->cancel_button, TRUE);
  gtk_widget_set_sensitive (t->save_button, FALSE);
  gtk_label_set_text (GTK_LABEL (t->status), _("Training..."));
  g_atomic_int_set (&t->cancel, 0);
  t->thread = g_thread_new ("convnet-finetune", train_thread, t);
}

void
tune_on_cancel (GtkWidget *button, Tune *t)
{
  (void) button;
  g_atomic_int_set (&t->cancel, 1);
}

void
tune_on_save (GtkWidget *button, Tune *t)
{
  const char *name = gtk_entry_get_text (GTK_ENTRY (t->name));
  char *file, *path;

  (void) button;
  if (!*name || strchr (name, '/') || name[0] == '.' || convnet_arch_lookup (name))
    {
      gtk_label_set_text (GTK_LABEL (t->status),
                          _("Choose a name without '/' that is not an "
                            "architecture's name."));
      return;
    }
  file = g_strconcat (name, ".safetensors", NULL);
  path = g_build_filename (t->folders[0], file, NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      GtkWidget *ask = gtk_message_dialog_new (GTK_WINDOW (t->dialog),
                                               GTK_DIALOG_MODAL,
                                               GTK_MESSAGE_QUESTION,
                                               GTK_BUTTONS_YES_NO,
                                               _("A model named “%s” exists. "
                                                 "Replace it?"), name);
      const gboolean replace = gtk_dialog_run (GTK_DIALOG (ask)) == GTK_RESPONSE_YES;
      gtk_widget_destroy (ask);
      if (!replace)
        {
          g_free (file);
          g_free (path);
          return;
        }
    }
  if (g_rename (t->temp_path, path) == 0)
    {
      g_free (t->saved);
      t->saved = g_strdup (name);
      g_clear_pointer (&t->temp_path, g_free);
      gtk_widget_set_sensitive (t->save_button, FALSE);
      gtk_label_set_text (GTK_LABEL (t->status),
                          _("Saved: Classify, Feature Maps and Where It Looks "
                            "now offer it by this name."));
    }
  else
    gtk_label_set_text (GTK_LABEL (t->status), g_strerror (errno));
  g_free (file);
  g_free (path);
}

void
tune_finish (Tune *t)
{
  if (t->thread)
    {
      g_atomic_int_set (&t->cancel, 1);
      g_thread_join (t->thread);
      t->thread = NULL;
    }
  /* the thread's last messages refer to T: let them run now */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  /* an unsaved model is not left behind */
  if (t->temp_path)
    g_unlink (t->temp_path);
  g_clear_pointer (&t->temp_path, g_free);
  g_clear_pointer (&t->data, convnet_dataset_free);
  convnet_finetune_result_clear (&t->result);
}
