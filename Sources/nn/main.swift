// Entry point of the `nn` tool. Exit codes: 0 success, 1 a data, model or training error,
// 2 a usage error (unknown option, bad option value); every error is one clear message on stderr.
NNTool.runAndExit()
