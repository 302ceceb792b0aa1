/* classify_dialog.c: Filters > ConvNet > Classify: pick a model, see the
 * top classes as probability bars. */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "gtk-compat.h"
#include "ui.h"

#define RESPONSE_CLASSIFY 1

typedef struct
{
  GtkWidget *results;   /* a vbox of label + bar rows */
} ClassifyDialog;

static void
show_results (ClassifyDialog *d, char **labels, const double *probs, int n)
{
  GList *children = gtk_container_get_children (GTK_CONTAINER (d->results));

  for (GList *l = children; l; l = l->next)
    gtk_widget_destroy (l->data);
  g_list_free (children);
  for (int k = 0; k < n; k++)
    {
      GtkWidget *bar = compat_progress_bar_new ();
      char *text = g_strdup_printf ("%s  %.1f%%", labels[k], 100.0 * probs[k]);

      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (bar), probs[k]);
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (bar), text);
      gtk_box_pack_start (GTK_BOX (d->results), bar, FALSE, FALSE, 0);
      gtk_widget_show (bar);
      g_free (text);
    }
}

static void
show_error (ClassifyDialog *d, const char *message)
{
  GList *children = gtk_container_get_children (GTK_CONTAINER (d->results));
  GtkWidget *label = gtk_label_new (message);
  GtkAllocation shown;
  int width;

  for (GList *l = children; l; l = l->next)
    gtk_widget_destroy (l->data);
  g_list_free (children);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  /* at the results' width: GTK 2 otherwise wraps at a width of its own,
   * and cut the text off at the dialog's edge */
  gtk_widget_get_size_request (d->results, &width, NULL);
  gtk_widget_get_allocation (d->results, &shown);
  gtk_widget_set_size_request (label, MAX (width, shown.width), -1);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_box_pack_start (GTK_BOX (d->results), label, FALSE, FALSE, 0);
  gtk_widget_show (label);
}

gboolean
convnet_ui_classify_dialog (const char *const *folders, char *model,
                            gsize model_size, int *top_k,
                            ConvnetUiClassify classify, gpointer user_data,
                            char ***labels, double **probs, int *n)
{
  ClassifyDialog d;
  GtkWidget *dialog, *vbox, *grid, *combo, *spin, *frame, *chooser, *label;
  GtkAdjustment *adj;
  gboolean have_result = FALSE;
  int response;

  dialog = gimp_dialog_new (_("Classify"), PLUG_IN_ROLE, NULL, 0,
                            gimp_standard_help_func, "plug-in-convnet-classify",
                            _("_Close"), GTK_RESPONSE_CLOSE,
                            _("C_lassify"), RESPONSE_CLASSIFY,
                            NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), RESPONSE_CLASSIFY);
  gimp_window_set_transient (GTK_WINDOW (dialog));

  vbox = compat_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))),
                      vbox, TRUE, TRUE, 0);

  grid = compat_grid_new (6, 6);
  gtk_box_pack_start (GTK_BOX (vbox), grid, FALSE, FALSE, 0);
  chooser = convnet_ui_model_chooser (folders, model, &combo);
  label = compat_grid_attach_aligned (grid, 0, 0, _("_Model:"), 0.0, 0.5,
                                      chooser, 1, FALSE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), combo);
  adj = GTK_ADJUSTMENT (gtk_adjustment_new (*top_k, 1, 1000, 1, 5, 0));
  spin = gtk_spin_button_new (adj, 1, 0);
  compat_grid_attach_aligned (grid, 0, 1, _("_Top classes:"), 0.0, 0.5, spin,
                              1, TRUE);

  frame = gimp_frame_new (_("Result"));
  gtk_box_pack_start (GTK_BOX (vbox), frame, TRUE, TRUE, 0);
  d.results = compat_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_widget_set_size_request (d.results, 320, -1);
  gtk_container_add (GTK_CONTAINER (frame), d.results);
  show_error (&d, _("Press Classify to run the model on the selection."));
  gtk_widget_show_all (dialog);

  while ((response = gimp_dialog_run (GIMP_DIALOG (dialog))) == RESPONSE_CLASSIFY)
    {
      char *name = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (combo));
      GError *error = NULL;

      *top_k = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (spin));
      g_strlcpy (model, name ? name : "", model_size);
      g_free (name);
      if (have_result)
        {
          g_strfreev (*labels);
          g_free (*probs);
        }
      have_result = classify (model, *top_k, labels, probs, n, user_data,
                              &error);
      if (have_result)
        show_results (&d, *labels, *probs, *n);
      else
        {
          show_error (&d, error->message);
          g_error_free (error);
        }
    }
  gtk_widget_destroy (dialog);
  return have_result;
}
