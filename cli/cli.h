/* cli.h: the convnet command's sub-commands, one file each. */
#ifndef CONVNET_CLI_H
#define CONVNET_CLI_H

#include "convnet.h"
#include "train/train.h"

int cmd_models   (int argc, char **argv);
int cmd_info     (int argc, char **argv);
int cmd_classify (int argc, char **argv);
int cmd_run      (int argc, char **argv);
int cmd_explain  (int argc, char **argv);
int cmd_bench    (int argc, char **argv);
int cmd_train    (int argc, char **argv);
int cmd_eval     (int argc, char **argv);
int cmd_finetune (int argc, char **argv);
int cmd_fetch    (int argc, char **argv);

/* Prints "convnet: MESSAGE" on one line to stderr; returns 1. */
int cli_fail (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
int cli_fail_error (GError *error);

/* Parses the options of a sub-command; on failure prints one line and
 * returns FALSE. */
gboolean cli_parse (GOptionContext *context, int *argc, char ***argv);

/* Loads WEIGHTS as MODEL (NULL: the file says) for an input of HEIGHT x
 * WIDTH (<= 0: the model's), or MODEL with random weights when WEIGHTS is
 * NULL. */
ConvnetModel *cli_load_model (const char *model, const char *weights,
                              int height, int width, GError **error);

/* Shared by train, eval and finetune (cmd_train.c). */
gboolean cli_parse_augment    (const char *spec, guint *flags, GError **error);
gboolean cli_print_progress   (const ConvnetTrainProgress *progress,
                               gpointer user_data);
void     cli_print_evaluation (const ConvnetEvaluation *evaluation,
                               char **names);

#endif
