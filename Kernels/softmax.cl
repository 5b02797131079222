// softmax kernels: to be written
