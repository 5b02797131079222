print("nnbench")
