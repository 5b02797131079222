import NNCore

/// Algebra: GEMM (Gemm.swift holds its packed, blocked implementation), the row-vector add, and the
/// column and whole-tensor reductions (Reductions.swift: Double accumulation in fixed row blocks).
extension NativeBackend {
    public func uncheckedGemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                              into c: Tensor, alpha: Float, beta: Float) throws {
        let (m, n, k) = OpCheck.gemmDimensions(a, transposeA: transposeA, b, transposeB: transposeB)
        switch precision {
        case .float32:
            let problem = GemmProblem<Float>(
                a: try pointer(a, Float.self, "gemm"), lda: a.columns, transposeA: transposeA,
                b: try pointer(b, Float.self, "gemm"), ldb: b.columns, transposeB: transposeB,
                c: try pointer(c, Float.self, "gemm"), m: m, n: n, k: k, alpha: alpha, beta: beta)
            problem.run(tile: gemmTile, kernels: kernels, fused: fusedMultiplyAdd, splitter: splitter, scratch: scratch)
        case .float64:
            let problem = GemmProblem<Double>(
                a: try pointer(a, Double.self, "gemm"), lda: a.columns, transposeA: transposeA,
                b: try pointer(b, Double.self, "gemm"), ldb: b.columns, transposeB: transposeB,
                c: try pointer(c, Double.self, "gemm"), m: m, n: n, k: k, alpha: alpha, beta: beta)
            problem.run(tile: gemmTile, kernels: kernels, fused: fusedMultiplyAdd, splitter: splitter, scratch: scratch)
        }
    }

    /// The dense forward: the blocked product, then the bias row and the ReLU as passes over C. On a
    /// CPU, C of a layer is still in cache when those run, so fusing them into the GEMM's micro-kernel
    /// would save little and complicate every instruction-set variant of it.
    public func uncheckedGemmEpilogue(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                                      into c: Tensor, alpha: Float, bias: Tensor?, relu: Bool) throws {
        try uncheckedGemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: alpha, beta: 0)
        if let bias { try uncheckedAddRowVector(bias, to: c) }
        if relu { try uncheckedActivationForward(.relu, c, into: c) }
    }

    public func uncheckedAddRowVector(_ bias: Tensor, to x: Tensor) throws {
        switch precision {
        case .float32: try addRowVector(Float.self, bias, x)
        case .float64: try addRowVector(Double.self, bias, x)
        }
    }

    public func uncheckedColumnSums(_ x: Tensor, into out: Tensor, alpha: Float, beta: Float) throws {
        switch precision {
        case .float32: try columnSums(Float.self, x, out, alpha, beta)
        case .float64: try columnSums(Double.self, x, out, alpha, beta)
        }
    }

    public func uncheckedReduce(_ reduction: Reduction, _ x: Tensor, into out: Tensor, accumulate: Bool) throws {
        switch precision {
        case .float32: try reduce(Float.self, reduction, x, out, accumulate)
        case .float64: try reduce(Double.self, reduction, x, out, accumulate)
        }
    }
}
