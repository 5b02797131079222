// optimizers kernels: to be written
