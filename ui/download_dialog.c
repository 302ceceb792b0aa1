/* download_dialog.c: the Download... button beside the model chooser and
 * the dialog it opens, which fetches torchvision's official checkpoint of
 * an architecture, or the file at an address the user gives (the
 * architecture shown follows its name), into the user's weights folder,
 * with progress and a Cancel that leaves nothing behind.  With
 * G_MESSAGES_DEBUG=convnet it logs what it downloads as which
 * architecture, and what the chooser selects after. */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include <string.h>

#include "convnet.h"
#include "gtk-compat.h"
#include "ui.h"

#define RESPONSE_DOWNLOAD 1

/* Shared between the dialog and its download thread; the thread owns a
 * reference, so a dialog closed mid-download is safe. */
typedef struct
{
  gint     refs;
  gint     cancel;          /* atomic: set by the dialog */
  GMutex   lock;            /* guards RECEIVED and TOTAL */
  guint64  received;
  guint64  total;
  char    *url;
  char    *folder;
  char    *path;            /* the result, or NULL with ERROR */
  GError  *error;
  gboolean finished;        /* atomic */
} Job;

typedef struct
{
  GtkWidget         *dialog;
  GtkWidget         *arch;
  GPtrArray         *arch_names;    /* what ARCH lists, in its order */
  gboolean           following_url; /* ARCH is being set from URL */
  GtkWidget         *url;
  GtkWidget         *progress;
  GtkWidget         *status;
  GtkWidget         *download;
  GtkWidget         *model_combo;   /* the chooser to refresh */
  const char *const *folders;
  Job               *job;
  guint              timer;
} DownloadDialog;

static void
job_unref (Job *job)
{
  if (!g_atomic_int_dec_and_test (&job->refs))
    return;
  g_mutex_clear (&job->lock);
  g_free (job->url);
  g_free (job->folder);
  g_free (job->path);
  g_clear_error (&job->error);
  g_free (job);
}

static gboolean
job_progress (guint64  received,
              guint64  total,
              gpointer user_data)
{
  Job *job = user_data;

  g_mutex_lock (&job->lock);
  job->received = received;
  job->total = total;
  g_mutex_unlock (&job->lock);
  return !g_atomic_int_get (&job->cancel);
}

static gpointer
job_run (gpointer data)
{
  Job *job = data;

  job->path = convnet_fetch_url (job->url, job->folder, job_progress, job,
                                 &job->error);
  g_atomic_int_set (&job->finished, TRUE);
  job_unref (job);
  return NULL;
}

static void
set_status (DownloadDialog *d,
            const char     *text)
{
  gtk_label_set_text (GTK_LABEL (d->status), text);
}

/* The status line for architecture ARCH (NULL: none): where its
 * checkpoint already is, if it is. */
static void
show_existing (DownloadDialog *d,
               const char     *arch)
{
  const char *resolved_arch = NULL;
  char *have = arch ? convnet_model_registry_resolve (d->folders, arch,
                                                     &resolved_arch, NULL)
                    : NULL;
  char *text = have && resolved_arch
               ? g_strdup_printf (_("Already downloaded: %s"), have)
               : g_strdup ("");

  set_status (d, text);
  g_free (text);
  g_free (have);
}

/* The architecture chosen: its official address. */
static void
update_url (DownloadDialog *d)
{
  char *arch, *url;

  if (d->following_url)
    return;
  arch = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (d->arch));
  url = arch ? convnet_checkpoint_url (arch, NULL) : NULL;
  gtk_entry_set_text (GTK_ENTRY (d->url), url ? url : "");
  show_existing (d, arch);
  g_free (url);
  g_free (arch);
}

/* The file name that ends URL's path. */
static char *
url_file_name (const char *url)
{
  const char *end = url + strcspn (url, "?#");
  const char *slash = g_strrstr_len (url, end - url, "/");

  return g_strndup (slash ? slash + 1 : url, end - (slash ? slash + 1 : url));
}

/* An address typed or pasted: the architecture shown is the one its file
 * is a checkpoint of, or none. */
static void
follow_url (DownloadDialog *d)
{
  char *file = url_file_name (gtk_entry_get_text (GTK_ENTRY (d->url)));
  const ConvnetArch *arch = convnet_arch_for_checkpoint (file);
  int index = -1;

  for (guint i = 0; arch && i < d->arch_names->len; i++)
    if (strcmp (g_ptr_array_index (d->arch_names, i), arch->name) == 0)
      index = i;
  if (index != gtk_combo_box_get_active (GTK_COMBO_BOX (d->arch)))
    {
      d->following_url = TRUE;
      gtk_combo_box_set_active (GTK_COMBO_BOX (d->arch), index);
      d->following_url = FALSE;
      show_existing (d, index >= 0 ? arch->name : NULL);
    }
  g_free (file);
}

/* Refills the chooser after a download of PATH: the model that file
 * provides is selected if the chooser lists it, else what was. */
static void
refresh_models (GtkWidget         *combo,
                const char *const *folders,
                const char        *path)
{
  GPtrArray *models = convnet_model_registry_list (folders, FALSE);
  char *selected = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (combo));

  for (guint i = 0; i < models->len; i++)
    {
      const ConvnetModelEntry *e = g_ptr_array_index (models, i);

      if (g_strcmp0 (e->path, path) == 0)
        {
          g_free (selected);
          selected = g_strdup (e->name);
        }
    }
  convnet_ui_model_combo_fill (combo, folders, selected);
  g_free (selected);
  selected = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (combo));
  g_debug ("downloaded %s: the chooser selects %s", path,
           selected ? selected : "nothing");
  g_free (selected);
  g_ptr_array_unref (models);
}

static gboolean
poll_job (gpointer data)
{
  DownloadDialog *d = data;
  Job *job = d->job;
  guint64 received, total;
  char *text;

  if (d->dialog == NULL)
    {
      /* closed while downloading: wait for the thread to stop; a file it
       * finished all the same is offered */
      if (!g_atomic_int_get (&job->finished))
        return G_SOURCE_CONTINUE;
      if (job->path && d->model_combo)
        refresh_models (d->model_combo, d->folders, job->path);
      job_unref (job);
      d->job = NULL;
      d->timer = 0;
      return G_SOURCE_REMOVE;
    }
  g_mutex_lock (&job->lock);
  received = job->received;
  total = job->total;
  g_mutex_unlock (&job->lock);
  if (total > 0)
    {
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (d->progress),
                                     (double) received / total);
      text = g_strdup_printf (_("%.1f of %.1f MB"), received / 1e6,
                              total / 1e6);
    }
  else
    {
      gtk_progress_bar_pulse (GTK_PROGRESS_BAR (d->progress));
      text = g_strdup_printf (_("%.1f MB"), received / 1e6);
    }
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (d->progress), text);
  g_free (text);
  if (!g_atomic_int_get (&job->finished))
    return G_SOURCE_CONTINUE;

  d->timer = 0;
  gtk_widget_set_sensitive (d->download, TRUE);
  gtk_widget_set_sensitive (d->arch, TRUE);
  gtk_widget_set_sensitive (d->url, TRUE);
  if (job->path)
    {
      text = g_strdup_printf (_("Verified and saved as %s"), job->path);
      set_status (d, text);
      g_free (text);
      if (d->model_combo)
        refresh_models (d->model_combo, d->folders, job->path);
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (d->progress), 1.0);
    }
  else
    {
      set_status (d, job->error->message);
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (d->progress), 0.0);
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (d->progress), "");
    }
  job_unref (job);
  d->job = NULL;
  return G_SOURCE_REMOVE;
}

static void
start_download (DownloadDialog *d)
{
  Job *job = g_new0 (Job, 1);
  char *arch = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (d->arch));
  GThread *thread;

  job->refs = 2;
  g_mutex_init (&job->lock);
  job->url = g_strdup (gtk_entry_get_text (GTK_ENTRY (d->url)));
  job->folder = g_strdup (d->folders[0]);
  d->job = job;
  g_debug ("downloading %s as architecture %s", job->url,
           arch ? arch : "none");
  g_free (arch);
  gtk_widget_set_sensitive (d->download, FALSE);
  gtk_widget_set_sensitive (d->arch, FALSE);
  gtk_widget_set_sensitive (d->url, FALSE);
  set_status (d, _("Downloading…"));
  thread = g_thread_new ("convnet-download", job_run, job);
  g_thread_unref (thread);
  d->timer = g_timeout_add (100, poll_job, d);
}

static void
on_response (GtkWidget      *dialog,
             int             response,
             DownloadDialog *d)
{
  if (response == RESPONSE_DOWNLOAD)
    {
      if (d->job == NULL)
        start_download (d);
      return;
    }
  if (d->job != NULL)
    {
      /* the thread sees the flag at its next progress call and removes
       * the part file itself */
      g_atomic_int_set (&d->job->cancel, TRUE);
      if (response != GTK_RESPONSE_DELETE_EVENT)
        {
          set_status (d, _("Cancelling…"));
          return;
        }
    }
  gtk_widget_destroy (dialog);
}

static void
run_download_dialog (GtkWidget *button,
                     GtkWidget *model_combo)
{
  const char *const *folders = g_object_get_data (G_OBJECT (button),
                                                  "convnet-folders");
  DownloadDialog d = { 0 };
  GtkWidget *grid, *label;
  char *current = gtk_combo_box_text_get_active_text (GTK_COMBO_BOX_TEXT (model_combo));
  char *where;
  int row = 0, active = 0, n = 0;

  d.folders = folders;
  d.model_combo = model_combo;
  g_object_add_weak_pointer (G_OBJECT (model_combo),
                             (gpointer *) &d.model_combo);
  d.dialog = gimp_dialog_new (_("Download Checkpoint"), PLUG_IN_ROLE,
                              gtk_widget_get_toplevel (button),
                              GTK_DIALOG_MODAL, gimp_standard_help_func,
                              "plug-in-convnet-download",
                              _("_Close"), GTK_RESPONSE_CLOSE,
                              _("_Download"), RESPONSE_DOWNLOAD, NULL);
  d.download = gtk_dialog_get_widget_for_response (GTK_DIALOG (d.dialog),
                                                   RESPONSE_DOWNLOAD);
  grid = convnet_ui_dialog_table (d.dialog);

  d.arch = gtk_combo_box_text_new ();
  d.arch_names = g_ptr_array_new ();
  for (guint i = 0; i < convnet_arch_count (); i++)
    {
      const ConvnetArch *arch = convnet_arch_nth (i);

      if (arch->checkpoint == NULL)
        continue;
      gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (d.arch), arch->name);
      g_ptr_array_add (d.arch_names, (gpointer) arch->name);
      if (g_strcmp0 (arch->name, current) == 0)
        active = n;
      n++;
    }
  gtk_combo_box_set_active (GTK_COMBO_BOX (d.arch), active);
  compat_grid_attach_aligned (grid, 0, row++, _("_Architecture:"), 0.0, 0.5,
                              d.arch, 1, FALSE);
  d.url = gtk_entry_new ();
  gtk_entry_set_width_chars (GTK_ENTRY (d.url), 56);
  gimp_help_set_help_data (d.url,
                           _("torchvision's address. A mirror works too: "
                             "the file name must keep its SHA-256 prefix "
                             "(name-1234abcd.pth), which is checked."), NULL);
  compat_grid_attach_aligned (grid, 0, row++, _("_From:"), 0.0, 0.5, d.url,
                              1, FALSE);
  where = g_strdup_printf (_("Saved into %s"), folders[0]);
  label = gtk_label_new (where);
  g_free (where);
  compat_label_set_alignment (label, 0.0, 0.5);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  compat_grid_attach (grid, label, 0, row++, 2, 1, FALSE, FALSE);
  d.progress = compat_progress_bar_new ();
  compat_grid_attach (grid, d.progress, 0, row++, 2, 1, TRUE, FALSE);
  d.status = gtk_label_new ("");
  gtk_label_set_line_wrap (GTK_LABEL (d.status), TRUE);
  gtk_label_set_selectable (GTK_LABEL (d.status), TRUE);
  gtk_widget_set_size_request (d.status, 480, -1);
  compat_label_set_alignment (d.status, 0.0, 0.0);
  compat_grid_attach (grid, d.status, 0, row, 2, 1, FALSE, FALSE);
  update_url (&d);
  g_signal_connect_swapped (d.arch, "changed", G_CALLBACK (update_url), &d);
  g_signal_connect_swapped (d.url, "changed", G_CALLBACK (follow_url), &d);
  g_signal_connect (d.dialog, "response", G_CALLBACK (on_response), &d);
  gtk_widget_show_all (d.dialog);

  /* a nested loop until the dialog is gone, so D can live on the stack */
  g_object_add_weak_pointer (G_OBJECT (d.dialog), (gpointer *) &d.dialog);
  while (d.dialog != NULL || d.timer != 0)
    {
      if (d.dialog == NULL && d.job != NULL)
        g_atomic_int_set (&d.job->cancel, TRUE);
      gtk_main_iteration ();
    }
  if (d.model_combo)
    g_object_remove_weak_pointer (G_OBJECT (d.model_combo),
                                  (gpointer *) &d.model_combo);
  g_ptr_array_unref (d.arch_names);
  g_free (current);
}

GtkWidget *
convnet_ui_model_chooser (const char *const *folders,
                          const char        *selected,
                          GtkWidget        **combo)
{
  GtkWidget *hbox = compat_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *button = gtk_button_new_with_mnemonic (_("_Download…"));

  *combo = convnet_ui_model_combo (folders, selected);
  gtk_box_pack_start (GTK_BOX (hbox), *combo, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (hbox), button, FALSE, FALSE, 0);
  g_object_set_data (G_OBJECT (button), "convnet-folders", (gpointer) folders);
  gimp_help_set_help_data (button,
                           _("Download torchvision's official weights for an "
                             "architecture into your weights folder"), NULL);
  g_signal_connect (button, "clicked", G_CALLBACK (run_download_dialog),
                    *combo);
  return hbox;
}
