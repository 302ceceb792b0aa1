/* ui_smoke.h: the scripted user that ui_dialog_smoke's tests share (see
 * ui_smoke.c), and the tests of each file. */
#ifndef CONVNET_UI_SMOKE_H
#define CONVNET_UI_SMOKE_H

#include <gtk/gtk.h>

/* How often a script plays its next step, in milliseconds. */
#define STEP_MS 400

/* ------------------------------------------------------------ TAP */

/* After gtk_init. */
void smoke_init   (const char *artifacts_folder);
/* Prints the plan and the tally; returns the exit status. */
int  smoke_finish (void);
void check        (gboolean ok, const char *format, ...) G_GNUC_PRINTF (2, 3);
void skip         (const char *name, const char *why);
/* WINDOW as ARTIFACTS/NAME-gtkN.png, its path as a TAP comment. */
void screenshot   (GtkWidget *window, const char *name);

/* --------------------------------------------------------- widgets */

void       collect      (GtkWidget *widget, GType type, GList **found);
GtkWidget *find_nth     (GtkWidget *root, GType type, guint n);
guint      count        (GtkWidget *root, GType type);
GtkWidget *find_label   (GtkWidget *root, const char *text);
GtkWidget *labelled     (GtkWidget *root, const char *text);
GtkWidget *shown_dialog (const char *title);
GdkPixbuf *grab         (GtkWidget *window);
int        needed_width (GtkWidget *widget);
gboolean   shows_whole  (GtkWidget *root, const char *text, int *needs,
                         int *has);

/* ----------------------------------------------- a scripted user */

/* PLAY (DIALOG, STEP, DATA) every STEP_MS once the dialog titled TITLE
 * shows, STEP counting from 0, until it returns FALSE. */
typedef struct
{
  const char *title;
  guint       timer;
  int         step;
  gboolean  (*play) (GtkWidget *dialog, int step, gpointer data);
  gpointer    data;
} Script;

void start_script (Script *s);
void end_script   (Script *s);

/* ---------------------------------------------------------- tests */

/* ui_finetune_smoke.c */
void test_download_dialog (const char *const *folders);
void test_finetune_dialog (const char *const *folders);

#endif
