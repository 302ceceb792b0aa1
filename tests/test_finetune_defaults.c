/* test_finetune_defaults.c: the Fine-tune dialog starts from the engine's
 * fine-tune defaults (convnet_finetune_defaults, which `convnet finetune`
 * and plug-in-convnet-finetune use too): a new project has them, and a
 * project file that lacks a setting gets it.  Needs no display. */
#include "train/train.h"
#include "test_util.h"
#include "ui.h"

#include <glib/gstdio.h>

static void
assert_engine_defaults (const ConvnetUiProject *p)
{
  ConvnetFinetuneSettings s;

  convnet_finetune_defaults (&s);
  g_assert_cmpint (p->epochs, ==, s.epochs);
  g_assert_cmpfloat (p->lr, ==, s.lr);
  g_assert_cmpfloat (p->validation_share, ==, s.validation_share);
  g_assert_cmpint (p->train_last_block, ==, s.train_last_block);
  g_assert_cmpuint (p->augment, ==, s.augment);
}

static void
test_new_project (void)
{
  ConvnetUiProject *p = convnet_ui_project_new ();

  g_assert_cmpstr (p->base_model, ==, "lenet5-fashion");
  assert_engine_defaults (p);
  convnet_ui_project_free (p);
}

/* A project written without settings (by hand, or by a version that had
 * none) gets the defaults; one with settings keeps its own. */
static void
test_loaded_project (void)
{
  char *dir = test_make_folder ("convnet-project");
  char *path = g_build_filename (dir, "project.json", NULL);
  GError *error = NULL;
  ConvnetUiProject *p;
  ConvnetFinetuneSettings s;

  g_assert_true (g_file_set_contents (path, "{ \"classes\": [] }", -1,
                                      &error));
  p = convnet_ui_project_load (path, &error);
  g_assert_no_error (error);
  assert_engine_defaults (p);
  convnet_ui_project_free (p);

  convnet_finetune_defaults (&s);
  p = convnet_ui_project_new ();
  p->epochs = s.epochs + 7;
  p->lr = s.lr / 4;
  p->validation_share = s.validation_share / 2;
  g_assert_true (convnet_ui_project_save (p, path, &error));
  g_assert_no_error (error);
  convnet_ui_project_free (p);
  p = convnet_ui_project_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (p->epochs, ==, s.epochs + 7);
  g_assert_cmpfloat (p->lr, ==, s.lr / 4);
  g_assert_cmpfloat (p->validation_share, ==, s.validation_share / 2);
  convnet_ui_project_free (p);

  g_unlink (path);
  g_free (path);
  test_remove_folder (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/finetune-defaults/new-project", test_new_project);
  g_test_add_func ("/finetune-defaults/loaded-project", test_loaded_project);
  return g_test_run ();
}
