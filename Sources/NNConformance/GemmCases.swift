import Foundation
import NNCore

/// C ← α·op(A)·op(B) + β·C on every backend, every transpose combination, against Float64.
enum GemmCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(.algebra, "gemmAllTransposeCombinationsWithAlphaAndBeta", allTransposeCombinationsWithAlphaAndBeta),
        ConformanceCase(.algebra, "gemmBetaZeroIgnoresNaNInC", betaZeroIgnoresNaNInC),
        ConformanceCase(.algebra, "gemmAccumulateAndPureScale", accumulateAndPureScale),
        ConformanceCase(.algebra, "gemmLongInnerDimension", longInnerDimension),
        ConformanceCase(.algebra, "gemmBiasReLUEpilogue", biasReLUEpilogue),
    ]

    /// (m, n, k): a single element, small primes, primes that straddle every tile size, and sizes a
    /// GPU's tiled kernel meets in most products: multiples of 8 and of the k step, so that a 128 × 128
    /// tile (and any smaller one) lies wholly inside aligned operands and takes the kernel's interior
    /// path, beside the edge tiles of the same product.
    private static let sizes = [(1, 1, 1), (7, 13, 5), (257, 129, 65), (136, 136, 64)]
    private static let transposes = [(false, false), (true, false), (false, true), (true, true)]

    /// One gemm call with its inputs and Float64 result, computed once and checked on every backend.
    private struct Case {
        let m, n, k: Int
        let transposeA, transposeB: Bool
        let alpha, beta: Float
        let a, b, c: [Double]
        let expected, magnitude: [Double]
        var aShape: Shape { transposeA ? Shape(k, m) : Shape(m, k) }
        var bShape: Shape { transposeB ? Shape(n, k) : Shape(k, n) }
        var name: String {
            "gemm m=\(m) n=\(n) k=\(k) transA=\(transposeA) transB=\(transposeB) α=\(alpha) β=\(beta)"
                + (c.first?.isNaN == true ? " (C filled with NaN)" : "")
        }

        init(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float, nanFilledC: Bool) {
            (self.m, self.n, self.k, self.transposeA, self.transposeB, self.alpha, self.beta) = (m, n, k, transposeA, transposeB, alpha, beta)
            var rng = TestRandom(seed: UInt64(m * 1_000_003 + n * 1009 + k))
            let aShape = transposeA ? Shape(k, m) : Shape(m, k), bShape = transposeB ? Shape(n, k) : Shape(k, n)
            a = rng.uniform(aShape.count)
            b = rng.uniform(bShape.count)
            c = nanFilledC ? [Double](repeating: .nan, count: m * n) : rng.uniform(m * n)
            (expected, magnitude) = Reference.gemm(a, aShape: aShape, transposeA: transposeA, b, bShape: bShape,
                                                   transposeB: transposeB, c: c, alpha: Double(alpha), beta: Double(beta))
        }
    }

    private static func check(_ cases: [Case], on be: ConformanceContext) throws {
            for c in cases {
                let ta = try be.tensor(c.aShape.rows, c.aShape.columns, c.a)
                let tb = try be.tensor(c.bShape.rows, c.bShape.columns, c.b)
                let tc = try be.tensor(c.m, c.n, c.c)
                try be.backend.gemm(ta, transposeA: c.transposeA, tb, transposeB: c.transposeB, into: tc, alpha: c.alpha, beta: c.beta)
                // Any summation order (blocked, FMA, split-k) of k products errs by at most γ_k·Σ|a·b| ≈ k·u·Σ|a·b|
                // (Higham, Accuracy and Stability, §3.5); three more roundings for α·sum, β·c and the final
                // add. The bound is taken at the largest element's magnitude so one atol serves the matrix.
                let tolerance = Tolerance(atol: Double(c.k + 3) * be.u * maxAbs(c.magnitude), rtol: 0)
                assertClose(try be.values(tc), c.expected, tolerance, c.name, on: be)
            }
    }

    private static func everyShapeAndTranspose(alpha: Float, beta: Float, nanFilledC: Bool) -> [Case] {
        Self.sizes.flatMap { m, n, k in
            Self.transposes.map { ta, tb in
                Case(m: m, n: n, k: k, transposeA: ta, transposeB: tb, alpha: alpha, beta: beta, nanFilledC: nanFilledC)
            }
        }
    }

    static func allTransposeCombinationsWithAlphaAndBeta(_ b: ConformanceContext) throws {
        try check(everyShapeAndTranspose(alpha: 0.75, beta: -1.5, nanFilledC: false), on: b)
    }

    /// β = 0 must ignore C entirely: NaN there may not leak through 0·NaN.
    static func betaZeroIgnoresNaNInC(_ b: ConformanceContext) throws {
        try check(everyShapeAndTranspose(alpha: 1, beta: 0, nanFilledC: true) + [
            Case(m: 7, n: 13, k: 5, transposeA: false, transposeB: false, alpha: 0, beta: 0, nanFilledC: true),
            Case(m: 7, n: 13, k: 5, transposeA: false, transposeB: false, alpha: -2, beta: 0, nanFilledC: true),
        ], on: b)
    }

    /// β = 1 accumulates (gradient accumulation); α = 0 scales C alone.
    static func accumulateAndPureScale(_ b: ConformanceContext) throws {
        try check([
            Case(m: 7, n: 13, k: 5, transposeA: true, transposeB: false, alpha: 1, beta: 1, nanFilledC: false),
            Case(m: 7, n: 13, k: 5, transposeA: false, transposeB: true, alpha: 0, beta: 0.5, nanFilledC: false),
        ], on: b)
    }

    /// A weight gradient dW = Xᵀ·dZ: a long k (the batch) and a small output.
    static func longInnerDimension(_ b: ConformanceContext) throws {
        try check([Case(m: 9, n: 10, k: 1000, transposeA: true, transposeB: false, alpha: 1, beta: 0, nanFilledC: true)], on: b)
    }

    /// The dense forward's fused epilogue, C ← α·op(A)·op(B) + bias, then ReLU: with and without each
    /// part, every transpose, over a NaN-filled C (which it must ignore).
    static func biasReLUEpilogue(_ b: ConformanceContext) throws {
        let parts: [(bias: Bool, relu: Bool)] = [(true, false), (false, true), (true, true)]
        for (index, c) in everyShapeAndTranspose(alpha: 1.5, beta: 0, nanFilledC: true).enumerated() {
            let (withBias, relu) = parts[index % parts.count]
            var rng = TestRandom(seed: UInt64(c.n * 31 + index))
            let biasValues = rng.uniform(c.n)
            let ta = try b.tensor(c.aShape.rows, c.aShape.columns, c.a)
            let tb = try b.tensor(c.bShape.rows, c.bShape.columns, c.b)
            let tc = try b.tensor(c.m, c.n, c.c)
            let bias = withBias ? try b.tensor(1, c.n, biasValues) : nil
            try b.backend.gemm(ta, transposeA: c.transposeA, tb, transposeB: c.transposeB, into: tc, alpha: c.alpha, bias: bias, relu: relu)
            let expected = c.expected.enumerated().map { i, v -> Double in
                let z = v + (withBias ? biasValues[i % c.n] : 0)
                return relu ? Reference.activation(.relu, z) : z
            }
            // The gemm bound, plus one rounding for the bias add (|bias| ≤ 1); the ReLU is exact.
            let tolerance = Tolerance(atol: Double(c.k + 4) * b.u * (maxAbs(c.magnitude) + 1), rtol: 0)
            assertClose(try b.values(tc), expected, tolerance, c.name + " + bias=\(withBias) relu=\(relu)", on: b)
        }
    }
}
