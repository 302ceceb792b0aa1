/* cmd_fetch.c: `convnet fetch`: torchvision's official checkpoints (or a
 * file from a mirror) into the weights folder the plug-in reads. */
#include "cli.h"

#include <stdio.h>
#include <unistd.h>

typedef struct
{
  const char *name;
  gboolean    tty;
  int         last_step;  /* the last tenth (or thousandth on a tty) shown */
} Meter;

static gboolean
show_progress (guint64  received,
               guint64  total,
               gpointer user_data)
{
  Meter *meter = user_data;
  int steps = meter->tty ? 1000 : 10;
  int step = total > 0 ? (int) (received * steps / total) : -1;

  if (step == meter->last_step || (total == 0 && !meter->tty))
    return TRUE;
  meter->last_step = step;
  if (total > 0)
    fprintf (stderr, "%s%s: %.1f of %.1f MB (%d%%)%s", meter->tty ? "\r" : "",
             meter->name, received / 1e6, total / 1e6,
             (int) (received * 100 / total), meter->tty ? "" : "\n");
  else
    fprintf (stderr, "\r%s: %.1f MB", meter->name, received / 1e6);
  return TRUE;
}

static int
fetch_one (const char *arch,
           const char *url,
           const char *folder)
{
  Meter meter = { arch ? arch : url, isatty (fileno (stderr)), -2 };
  GError *error = NULL;
  char *path = arch ? convnet_fetch_checkpoint (arch, folder, show_progress,
                                                &meter, &error)
                    : convnet_fetch_url (url, folder, show_progress, &meter,
                                         &error);

  if (meter.tty && meter.last_step != -2)
    fprintf (stderr, "\n");
  if (path == NULL)
    return cli_fail_error (error);
  printf ("%s\n", path);
  g_free (path);
  return 0;
}

int
cmd_fetch (int argc, char **argv)
{
  char *url = NULL, *folder = NULL;
  gboolean list = FALSE;
  GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &folder,
      "weights folder (default: the one the plug-in reads in your data "
      "folder)", "DIR" },
    { "url", 'u', 0, G_OPTION_ARG_STRING, &url,
      "download this address instead (a mirror's NAME-SHA256PREFIX.pth)",
      "URL" },
    { "list", 'l', 0, G_OPTION_ARG_NONE, &list,
      "list each architecture's checkpoint address", NULL },
    { 0 }
  };
  GOptionContext *context =
    g_option_context_new ("[MODEL...] - download official checkpoints, "
                          "verified by the SHA-256 prefix in their names");
  int status = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return 1;
  g_option_context_free (context);
  if (folder == NULL)
    folder = convnet_user_weights_folder ();

  if (list)
    for (guint i = 0; i < convnet_arch_count (); i++)
      {
        const ConvnetArch *arch = convnet_arch_nth (i);
        char *address = arch->checkpoint
                        ? convnet_checkpoint_url (arch->name, NULL) : NULL;

        if (address)
          printf ("%-10s %s\n", arch->name, address);
        g_free (address);
      }
  else if (url != NULL && argc == 1)
    status = fetch_one (NULL, url, folder);
  else if (url == NULL && argc > 1)
    for (int i = 1; i < argc && status == 0; i++)
      status = fetch_one (argv[i], NULL, folder);
  else
    status = cli_fail ("fetch needs model names (see 'convnet fetch --list') "
                       "or --url, not both");
  g_free (folder);
  g_free (url);
  return status;
}
