/* saliency_dialog.c: Filters > ConvNet > Where It Looks: a model and the
 * class to explain, picked from the model's top classes for this image. */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "gtk-compat.h"
#include "ui.h"

#define RESPONSE_FIND_CLASSES 1

gboolean
convnet_ui_saliency_dialog (const char *const *folders, char *model,
                            gsize model_size, char *node, gsize node_size,
                            char *class_label, gsize class_label_size,
                            ConvnetUiClassify classify, gpointer user_data)
{
  GtkWidget *dialog, *grid, *combo, *classes, *node_entry, *status;
  GtkWidget *chooser, *label;
  int response;

  dialog = gimp_dialog_new (_("Where the Network Looks"), PLUG_IN_ROLE, NULL,
                            0, gimp_standard_help_func,
                            "plug-in-convnet-saliency",
                            _("_Find Classes"), RESPONSE_FIND_CLASSES,
                            _("_Cancel"), GTK_RESPONSE_CANCEL,
                            _("_OK"), GTK_RESPONSE_OK, NULL);
  gimp_window_set_transient (GTK_WINDOW (dialog));
  grid = convnet_ui_dialog_table (dialog);

  chooser = convnet_ui_model_chooser (folders, model, &combo);
  label = compat_grid_attach_aligned (grid, 0, 0, _("_Model:"), 0.0, 0.5,
                                      chooser, 1, FALSE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), combo);
  classes = gtk_combo_box_text_new ();
  gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (classes),
                                  _("(the top class)"));
  gtk_combo_box_set_active (GTK_COMBO_BOX (classes), 0);
  compat_grid_attach_aligned (grid, 0, 1, _("C_lass:"), 0.0, 0.5, classes, 1,
                              FALSE);
  node_entry = gtk_entry_new ();
  gtk_entry_set_text (GTK_ENTRY (node_entry), node);
  gimp_help_set_help_data (node_entry,
                           _("Leave empty for the architecture's last "
                             "convolutional block"), NULL);
  compat_grid_attach_aligned (grid, 0, 2, _("La_yer:"), 0.0, 0.5, node_entry,
                              1, FALSE);
  status = gtk_label_new (_("Find Classes lists the model's top classes "
                            "for this image."));
  gtk_label_set_line_wrap (GTK_LABEL (status), TRUE);
  compat_grid_attach (grid, status, 0, 3, 2, 1, TRUE, TRUE);
  gtk_widget_show_all (dialog);

  while ((response = gimp_dialog_run (GIMP_DIALOG (dialog)))
         == RESPONSE_FIND_CLASSES)
    {
      char *name = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (combo));
      char **labels = NULL;
      double *probs = NULL;
      int n = 0;
      GError *error = NULL;

      g_strlcpy (model, name ? name : "", model_size);
      g_free (name);
      gtk_list_store_clear (GTK_LIST_STORE (gtk_combo_box_get_model (GTK_COMBO_BOX (classes))));
      gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (classes),
                                      _("(the top class)"));
      if (classify (model, 10, &labels, &probs, &n, user_data, &error))
        {
          for (int k = 0; k < n; k++)
            gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (classes),
                                            labels[k]);
          gtk_label_set_text (GTK_LABEL (status), "");
        }
      else
        {
          gtk_label_set_text (GTK_LABEL (status), error->message);
          g_error_free (error);
        }
      gtk_combo_box_set_active (GTK_COMBO_BOX (classes), 0);
      g_strfreev (labels);
      g_free (probs);
    }

  if (response == GTK_RESPONSE_OK)
    {
      char *name = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (combo));
      const int active = gtk_combo_box_get_active (GTK_COMBO_BOX (classes));
      char *label = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (classes));

      g_strlcpy (model, name ? name : "", model_size);
      g_strlcpy (class_label, active > 0 && label ? label : "", class_label_size);
      g_strlcpy (node, gtk_entry_get_text (GTK_ENTRY (node_entry)), node_size);
      g_free (name);
      g_free (label);
    }
  gtk_widget_destroy (dialog);
  return response == GTK_RESPONSE_OK;
}
