NNBench.main()
