#ifndef SWIFTNN_CSQLITE_SHIM_H
#define SWIFTNN_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
