#ifndef SWIFTNN_CPOSTGRESQL_SHIM_H
#define SWIFTNN_CPOSTGRESQL_SHIM_H
// libpq, PostgreSQL's C client (Debian: libpq-dev; pkg-config libpq adds -I/usr/include/postgresql).
#include <libpq-fe.h>
#endif
