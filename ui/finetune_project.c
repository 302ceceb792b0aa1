/* finetune_project.c: the fine-tune dialog's project file: the classes,
 * their images and the settings, as a small JSON file the user can reopen
 * (written atomically). */
#include "config.h"

#include <json-glib/json-glib.h>

#include "convnet.h"
#include "train/train.h"
#include "ui.h"

static void
project_clear (ConvnetUiProject *p)
{
  g_free (p->base_model);
  for (guint i = 0; p->class_names && i < p->class_names->len; i++)
    g_ptr_array_unref (g_ptr_array_index (p->class_files, i));
  g_clear_pointer (&p->class_names, g_ptr_array_unref);
  g_clear_pointer (&p->class_files, g_ptr_array_unref);
}

void
convnet_ui_project_free (ConvnetUiProject *p)
{
  if (!p)
    return;
  project_clear (p);
  g_free (p);
}

/* Moves FROM's contents into PROJECT, whose old contents are freed, and
 * frees FROM's shell: whoever holds PROJECT (the plug-in, which saves it as
 * the last project) keeps a valid pointer that now holds FROM. */
void
convnet_ui_project_take (ConvnetUiProject *project, ConvnetUiProject *from)
{
  project_clear (project);
  *project = *from;
  g_free (from);
}

ConvnetUiProject *
convnet_ui_project_new (void)
{
  ConvnetUiProject *p = g_new0 (ConvnetUiProject, 1);
  ConvnetFinetuneSettings defaults;

  /* the engine's defaults, which convnet finetune and the plug-in use */
  convnet_finetune_defaults (&defaults);
  p->base_model = g_strdup ("lenet5-fashion");
  p->epochs = defaults.epochs;
  p->lr = defaults.lr;
  p->validation_share = defaults.validation_share;
  p->train_last_block = defaults.train_last_block;
  p->augment = defaults.augment;
  p->class_names = g_ptr_array_new_with_free_func (g_free);
  p->class_files = g_ptr_array_new ();
  return p;
}

void
convnet_ui_project_add_class (ConvnetUiProject *p, const char *name)
{
  g_ptr_array_add (p->class_names, g_strdup (name));
  g_ptr_array_add (p->class_files, g_ptr_array_new_with_free_func (g_free));
}

gboolean
convnet_ui_project_save (const ConvnetUiProject *p, const char *path,
                         GError **error)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root;
  char *text;
  gboolean ok;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "gimp-convnet fine-tune project 1");
  json_builder_set_member_name (b, "base_model");
  json_builder_add_string_value (b, p->base_model);
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, p->epochs);
  json_builder_set_member_name (b, "learning_rate");
  json_builder_add_double_value (b, p->lr);
  json_builder_set_member_name (b, "validation_share");
  json_builder_add_double_value (b, p->validation_share);
  json_builder_set_member_name (b, "train_last_block");
  json_builder_add_boolean_value (b, p->train_last_block);
  json_builder_set_member_name (b, "augment");
  json_builder_add_int_value (b, p->augment);
  json_builder_set_member_name (b, "classes");
  json_builder_begin_array (b);
  for (guint c = 0; c < p->class_names->len; c++)
    {
      GPtrArray *files = g_ptr_array_index (p->class_files, c);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, g_ptr_array_index (p->class_names, c));
      json_builder_set_member_name (b, "images");
      json_builder_begin_array (b);
      for (guint i = 0; i < files->len; i++)
        json_builder_add_string_value (b, g_ptr_array_index (files, i));
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  /* temp file and rename: a crash never leaves half a project */
  ok = g_file_set_contents (path, text, -1, error);
  g_free (text);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return ok;
}

ConvnetUiProject *
convnet_ui_project_load (const char *path, GError **error)
{
  JsonParser *parser = json_parser_new ();
  ConvnetUiProject *p = NULL;
  JsonObject *o;
  JsonArray *classes;

  if (!json_parser_load_from_file (parser, path, error))
    goto out;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))
      || !json_object_has_member (o = json_node_get_object (json_parser_get_root (parser)), "classes")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "classes")))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                   _("%s is not a fine-tune project (no class list)"), path);
      goto out;
    }
  p = convnet_ui_project_new ();
  g_free (p->base_model);
  p->base_model = g_strdup (json_object_get_string_member_with_default (o, "base_model", "lenet5-fashion"));
  /* a setting the file lacks keeps the default of convnet_ui_project_new */
  p->epochs = (int) json_object_get_int_member_with_default (o, "epochs", p->epochs);
  p->lr = json_object_get_double_member_with_default (o, "learning_rate", p->lr);
  p->validation_share = json_object_get_double_member_with_default (o, "validation_share", p->validation_share);
  p->train_last_block = json_object_get_boolean_member_with_default (o, "train_last_block", p->train_last_block);
  p->augment = (guint) json_object_get_int_member_with_default (o, "augment", p->augment);
  classes = json_object_get_array_member (o, "classes");
  for (guint c = 0; c < json_array_get_length (classes); c++)
    {
      JsonNode *node = json_array_get_element (classes, c);
      JsonObject *co;
      JsonArray *images;
      GPtrArray *files;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      co = json_node_get_object (node);
      convnet_ui_project_add_class (p, json_object_get_string_member_with_default (co, "name", "?"));
      files = g_ptr_array_index (p->class_files, p->class_files->len - 1);
      if (!json_object_has_member (co, "images")
          || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (co, "images")))
        continue;
      images = json_object_get_array_member (co, "images");
      for (guint i = 0; i < json_array_get_length (images); i++)
        {
          JsonNode *item = json_array_get_element (images, i);
          if (JSON_NODE_HOLDS_VALUE (item)
              && json_node_get_value_type (item) == G_TYPE_STRING)
            g_ptr_array_add (files, g_strdup (json_node_get_string (item)));
        }
    }

out:
  g_object_unref (parser);
  return p;
}
