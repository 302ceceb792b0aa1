/* error.c: the engine's error domain and dtype names. */
#include "convnet.h"

G_DEFINE_QUARK (convnet-error-quark, convnet_error)

const char *
convnet_dtype_name (ConvnetDType dtype)
{
  switch (dtype)
    {
    case CONVNET_DTYPE_F32: return "F32";
    case CONVNET_DTYPE_F16: return "F16";
    case CONVNET_DTYPE_BF16: return "BF16";
    case CONVNET_DTYPE_F64: return "F64";
    case CONVNET_DTYPE_I64: return "I64";
    case CONVNET_DTYPE_I32: return "I32";
    case CONVNET_DTYPE_I16: return "I16";
    case CONVNET_DTYPE_I8: return "I8";
    case CONVNET_DTYPE_U8: return "U8";
    case CONVNET_DTYPE_BOOL: return "BOOL";
    }
  return "?";
}

gsize
convnet_dtype_size (ConvnetDType dtype)
{
  switch (dtype)
    {
    case CONVNET_DTYPE_F64:
    case CONVNET_DTYPE_I64: return 8;
    case CONVNET_DTYPE_F32:
    case CONVNET_DTYPE_I32: return 4;
    case CONVNET_DTYPE_F16:
    case CONVNET_DTYPE_BF16:
    case CONVNET_DTYPE_I16: return 2;
    case CONVNET_DTYPE_I8:
    case CONVNET_DTYPE_U8:
    case CONVNET_DTYPE_BOOL: return 1;
    }
  return 0;
}
