#ifndef SWIFTNN_CZLIB_SHIM_H
#define SWIFTNN_CZLIB_SHIM_H
#include <zlib.h>
#endif
