// gemm kernels: to be written
