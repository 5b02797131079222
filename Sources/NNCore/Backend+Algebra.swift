/// Dense algebra: GEMM, bias rows and reductions.
///
/// Implement the `unchecked…` hooks; call ``Backend/gemm(_:transposeA:_:transposeB:into:alpha:beta:)``, … instead.
public protocol AlgebraOps: AnyObject, Sendable {
    /// C ← α·op(A)·op(B) + β·C on validated operands; ``OpCheck/gemmDimensions(_:transposeA:_:transposeB:)``
    /// gives (m, n, k).
    func uncheckedGemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                       into c: Tensor, alpha: Float, beta: Float) throws
    /// C ← α·op(A)·op(B) + bias (added to every row; none when nil), then max(0, ·) when `relu`, on
    /// operands validated by ``OpCheck/gemmEpilogue(_:transposeA:_:transposeB:bias:c:on:)``. The
    /// default implementation composes ``uncheckedGemm(_:transposeA:_:transposeB:into:alpha:beta:)``,
    /// ``uncheckedAddRowVector(_:to:)`` and the ReLU; a backend overrides it to fuse them.
    func uncheckedGemmEpilogue(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                               into c: Tensor, alpha: Float, bias: Tensor?, relu: Bool) throws
    func uncheckedAddRowVector(_ bias: Tensor, to x: Tensor) throws
    func uncheckedColumnSums(_ x: Tensor, into out: Tensor, alpha: Float, beta: Float) throws
    func uncheckedReduce(_ reduction: Reduction, _ x: Tensor, into out: Tensor, accumulate: Bool) throws
}

extension Backend {
    /// C ← α·op(A)·op(B) + β·C, where op(X) is X or Xᵀ. With op(A) m×k and op(B) k×n, C is m×n.
    /// When β is 0, C's previous contents are ignored (NaNs in it do not leak through).
    public func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                     into c: Tensor, alpha: Float, beta: Float) throws {
        _ = try OpCheck.gemm(a, transposeA: transposeA, b, transposeB: transposeB, c: c, on: self)
        try uncheckedGemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: alpha, beta: beta)
    }

    /// C ← α·op(A)·op(B) + bias (the 1×n `bias` added to every row; none when nil), then max(0, ·)
    /// when `relu`: a dense layer's forward, which a backend may run as one kernel (the OpenCL tiled
    /// family adds the bias and applies the ReLU as it stores C). C's previous contents are ignored.
    public func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
                     alpha: Float = 1, bias: Tensor?, relu: Bool) throws {
        try OpCheck.gemmEpilogue(a, transposeA: transposeA, b, transposeB: transposeB, bias: bias, c: c, on: self)
        try uncheckedGemmEpilogue(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: alpha, bias: bias, relu: relu)
    }

    /// The composed epilogue: gemm with β = 0, the bias row, the ReLU in place, each its own pass.
    public func uncheckedGemmEpilogue(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                                      into c: Tensor, alpha: Float, bias: Tensor?, relu: Bool) throws {
        try uncheckedGemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: alpha, beta: 0)
        if let bias { try uncheckedAddRowVector(bias, to: c) }
        if relu { try uncheckedActivationForward(.relu, c, into: c) }
    }

    /// x[i, j] += bias[j] for every row i. `bias` is 1×n for x of m×n.
    public func addRowVector(_ bias: Tensor, to x: Tensor) throws {
        try OpCheck.addRowVector(bias, to: x, on: self)
        try uncheckedAddRowVector(bias, to: x)
    }

    /// out[j] ← α·Σᵢ x[i, j] + β·out[j]. `out` is 1×n for x of m×n. Used for db and dβ.
    public func columnSums(_ x: Tensor, into out: Tensor, alpha: Float, beta: Float) throws {
        try OpCheck.columnSums(x, into: out, on: self)
        try uncheckedColumnSums(x, into: out, alpha: alpha, beta: beta)
    }

    /// out ← Σ f(x) over every element (1×1 output), or out += … when `accumulate`.
    public func reduce(_ reduction: Reduction, _ x: Tensor, into out: Tensor, accumulate: Bool) throws {
        try OpCheck.reduce(x, into: out, on: self)
        try uncheckedReduce(reduction, x, into: out, accumulate: accumulate)
    }
}
