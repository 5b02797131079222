/// GEMM inputs and a Float64 GEMM on the host, for the native backend's smoke and kernel-variant tests.
enum HostGemm {
    /// Deterministic values in [-1, 1) (a small LCG), so failures reproduce.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
    }

    /// α·op(A)·op(B) + β·C in Double; C is ignored when β is 0 (so NaNs in it must not leak through).
    static func reference(_ a: [Float], _ ta: Bool, _ b: [Float], _ tb: Bool, _ c: [Float],
                          m: Int, n: Int, k: Int, alpha: Double, beta: Double) -> [Double] {
        let lda = ta ? m : k, ldb = tb ? k : n
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    s += Double(ta ? a[p * lda + i] : a[i * lda + p]) * Double(tb ? b[j * ldb + p] : b[p * ldb + j])
                }
                out[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * Double(c[i * n + j]))
            }
        }
        return out
    }
}
