#ifndef SWIFTNN_COPENCL_SHIM_H
#define SWIFTNN_COPENCL_SHIM_H
// OpenCL 1.2 is the newest version every driver we target (PoCL, NVIDIA, AMD, Intel) implements
// in full; pinning it keeps the deprecated-API warnings away and the API surface portable.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#endif
