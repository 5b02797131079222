// reduction kernels: to be written
