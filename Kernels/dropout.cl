// dropout kernels: to be written
