/* fuzz_pickle.c: libFuzzer target for the pickle interpreter alone, with
 * every persistent id accepted, so that inputs reach the opcodes behind
 * BINPERSID that the torch readers would stop at. */
#include <stdint.h>

#include "formats/formats.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static PickleValue *
accept_any_storage (PickleArena       *arena,
                    const PickleValue *pid G_GNUC_UNUSED,
                    gpointer           user_data G_GNUC_UNUSED,
                    GError           **error G_GNUC_UNUSED)
{
  return pickle_value_new (arena, PICKLE_STORAGE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  PickleArena *arena = pickle_arena_new ();
  PickleSource source = { 0 };
  GError *error = NULL;
  gsize consumed = 0;
  PickleValue *value;

  source.where = "fuzz-input";
  source.data = data;
  source.size = size;
  source.persistent_load = accept_any_storage;
  value = pickle_load (arena, &source, &consumed, &error);
  if (value == NULL)
    {
      g_assert (error != NULL && error->message[0] != '\0');
      g_error_free (error);
    }
  else
    g_assert (consumed <= size && value->depth <= PICKLE_MAX_DEPTH + 1);
  pickle_arena_free (arena);
  return 0;
}
