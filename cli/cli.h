/* cli.h: the convnet command's sub-commands, one file each. */
#ifndef CONVNET_CLI_H
#define CONVNET_CLI_H

#include "convnet.h"

int cmd_models   (int argc, char **argv);
int cmd_info     (int argc, char **argv);
int cmd_classify (int argc, char **argv);
int cmd_run      (int argc, char **argv);
int cmd_bench    (int argc, char **argv);

/* Prints "convnet: MESSAGE" on one line to stderr; returns 1. */
int cli_fail (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
int cli_fail_error (GError *error);

/* Parses the options of a sub-command; on failure prints one line and
 * returns FALSE. */
gboolean cli_parse (GOptionContext *context, int *argc, char ***argv);

/* Builds MODEL for an input of HEIGHT x WIDTH (<= 0: its default) and
 * loads WEIGHTS, or random weights when WEIGHTS is NULL.  The number of
 * classes is taken from the weights file when it has a classifier whose
 * size differs from the default. */
ConvnetGraph *cli_load_model (const char *model, const char *weights,
                              int height, int width, GError **error);

#endif
