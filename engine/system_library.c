/* system_library.c: see system_library.h. */
#include "system_library.h"

#include <dlfcn.h>
#include <string.h>

gboolean
convnet_library_symbol (void *library, const char *name, void *slot)
{
  /* POSIX's dlsym gives functions as object pointers, which C does not
   * convert to function pointers: the bits are copied instead */
  void *symbol = dlsym (library, name);

  memcpy (slot, &symbol, sizeof symbol);
  return symbol != NULL;
}
