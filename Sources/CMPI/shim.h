#ifndef SWIFTNN_CMPI_SHIM_H
#define SWIFTNN_CMPI_SHIM_H
// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …) are macros over the addresses of
// library globals, which Swift cannot import; these inline functions hand them over as values.
#if !__has_include(<mpi.h>)
#error "SwiftNN: mpi.h not found. Install Open MPI (apt-get install libopenmpi-dev openmpi-bin, or scripts/install-deps.sh), or build without MPI: swift build --disable-default-traits"
#endif
#include <mpi.h>

static inline MPI_Comm swiftnn_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype swiftnn_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype swiftnn_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype swiftnn_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Op swiftnn_mpi_sum(void) { return MPI_SUM; }
static inline void *swiftnn_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request swiftnn_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Errhandler swiftnn_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Status *swiftnn_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
#endif
