import Foundation
import NNCore

/// Batch normalisation: training forward (output, saved statistics, running statistics), inference
/// forward and backward (dx, dγ, dβ), including a zero-variance feature, a batch of one row, rows of
/// whole float4 vectors, and a 100,000-row column with mean 1e4 where a single-pass float sum of squares fails.
enum BatchNormCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(.batchNorm, "forwardTraining", forwardTraining),
        ConformanceCase(.batchNorm, "forwardInference", forwardInference),
        ConformanceCase(.batchNorm, "backward", backward),
    ]

    private static let epsilon: Float = 1e-5
    private static let averagingBeta: Float = 0.9

    private struct Case {
        let name: String
        let rows: Int
        let columns: Int
        let x: [Double]
    }

    private static func cases() -> [Case] {
        var rng = TestRandom(seed: 121)
        var small = rng.normal(7 * 13, mean: 0.5, sd: 2)
        for i in 0..<7 { small[i * 13 + 4] = 0.3 }  // column 4 has zero variance
        var large = [Double](repeating: 0, count: 100_000 * 2)
        let shifted = rng.normal(100_000, mean: 1e4, sd: 1)
        let tiny = rng.normal(100_000, mean: 0, sd: 0.01)
        for i in 0..<100_000 {
            large[2 * i] = shifted[i]
            large[2 * i + 1] = tiny[i]
        }
        return [
            Case(name: "7×13 with a zero-variance column", rows: 7, columns: 13, x: small),
            Case(name: "257×65", rows: 257, columns: 65, x: rng.normal(257 * 65, mean: -1, sd: 3)),
            // Whole float4 vectors per row and several row chunks: the GPU shape's vector passes.
            Case(name: "300×96", rows: 300, columns: 96, x: rng.normal(300 * 96, mean: 2, sd: 0.5)),
            Case(name: "batch of one row", rows: 1, columns: 5, x: rng.normal(5)),
            Case(name: "100000×2, column 0 = 1e4 + N(0, 1)", rows: 100_000, columns: 2, x: large),
        ]
    }

    static func forwardTraining(_ b: ConformanceContext) throws {
        let allCases = cases()
        for c in allCases {
            let (m, n, u) = (c.rows, c.columns, b.u)
            var rng = TestRandom(seed: 131 + UInt64(m))
            let gamma = rng.signed(n, magnitude: 0.5, 2), beta = rng.normal(n)
            let runningMean = rng.normal(n), runningVariance = rng.uniform(n, 0.5, 2)
            let stats = Reference.batchStatistics(c.x, rows: m, columns: n)
            let eps = Double(epsilon), avg = Double(averagingBeta)
            let inverseStd = stats.variance.map { 1 / ($0 + eps).squareRoot() }
            let expectedY = Reference.normalize(c.x, rows: m, columns: n, mean: stats.mean, inverseStd: inverseStd,
                                                gamma: gamma, beta: beta)
            let unbiased = stats.variance.map { m > 1 ? $0 * Double(m) / Double(m - 1) : $0 }
            let expectedRunningMean = (0..<n).map { avg * runningMean[$0] + (1 - avg) * stats.mean[$0] }
            let expectedRunningVariance = (0..<n).map { avg * runningVariance[$0] + (1 - avg) * unbiased[$0] }

            // Error analysis, per column j:
            //  δⱼ, the mean's error: an accurate sum of m terms, c(m)·u·Σ|x|/m, and the division.
            //  The two-pass variance Σ(x − μ̂)²/m equals σ² + δ² exactly in real arithmetic, and its
            //  rounding adds (c(m) + 3)·u·σ²; a single-pass E[x²] − μ² in float instead errs by
            //  ~u·μ², which for the 1e4-mean column is ~6 against a variance of 1.
            //  1/√(σ² + ε) inherits half the variance's relative error, plus ≤ 6u for sqrt and divide.
            let absColumnSums = Reference.columnSums(c.x.map(abs), rows: m, columns: n)
            let meanError = (0..<n).map { summationFactor(m) * u * absColumnSums[$0] / Double(m) + u * abs(stats.mean[$0]) }
            let varianceError = (0..<n).map { (summationFactor(m) + 3) * u * stats.variance[$0] + meanError[$0] * meanError[$0] }
            let inverseStdRelError = (0..<n).map { 0.5 * varianceError[$0] / (stats.variance[$0] + eps) + 6 * u }

            //  y = γ·x̂ + β: the mean's error shifts x̂ by δ·s; forming x − μ (or x·γs − μ·γs, as a fused
            //  scale-and-shift does) costs 4u·(|x| + |μ|)·|γ|s; s's relative error scales γ·x̂; two more
            //  roundings on |β| and |y|.
            var yAtol = [Double](repeating: 0, count: m * n)
            for i in 0..<m {
                for j in 0..<n {
                    let k = i * n + j
                    let xHat = (c.x[k] - stats.mean[j]) * inverseStd[j]
                    yAtol[k] = abs(gamma[j]) * inverseStd[j] * (meanError[j] + 4 * u * (abs(c.x[k]) + abs(stats.mean[j])))
                        + abs(gamma[j] * xHat) * (inverseStdRelError[j] + 2 * u) + 2 * u * (abs(beta[j]) + abs(expectedY[k]))
                }
            }

            let tx = try b.tensor(m, n, c.x)
            let tGamma = try b.tensor(1, n, gamma), tBeta = try b.tensor(1, n, beta)
            let tRunningMean = try b.tensor(1, n, runningMean), tRunningVariance = try b.tensor(1, n, runningVariance)
            let ty = try b.backend.makeTensor(Shape(m, n))
            let tMean = try b.backend.makeTensor(.vector(n)), tInverseStd = try b.backend.makeTensor(.vector(n))
            try b.backend.batchNormForwardTraining(tx, gamma: tGamma, beta: tBeta, runningMean: tRunningMean,
                                                   runningVariance: tRunningVariance, averagingBeta: averagingBeta,
                                                   epsilon: epsilon, output: ty, savedMean: tMean,
                                                   savedInverseStd: tInverseStd)
            assertClose(try b.values(tMean), stats.mean, Tolerance(perElementAtol: meanError),
                        "batchNormForwardTraining saved mean, \(c.name)", on: b)
            assertClose(try b.values(tInverseStd), inverseStd,
                        Tolerance(perElementAtol: (0..<n).map { inverseStdRelError[$0] * inverseStd[$0] }),
                        "batchNormForwardTraining saved 1/√(σ²+ε), \(c.name)", on: b)
            assertClose(try b.values(ty), expectedY, Tolerance(perElementAtol: yAtol),
                        "batchNormForwardTraining output, \(c.name)", on: b)
            // Running statistics: r ← β·r + (1 − β)·θ: θ's error scaled by 1 − β, and three roundings.
            let unbiasFactor = m > 1 ? Double(m) / Double(m - 1) : 1
            assertClose(try b.values(tRunningMean), expectedRunningMean, Tolerance(perElementAtol: (0..<n).map {
                (1 - avg) * meanError[$0] + 3 * u * (abs(avg * runningMean[$0]) + abs((1 - avg) * stats.mean[$0]))
            }), "batchNormForwardTraining running mean, \(c.name)", on: b)
            assertClose(try b.values(tRunningVariance), expectedRunningVariance, Tolerance(perElementAtol: (0..<n).map {
                (1 - avg) * varianceError[$0] * unbiasFactor + 4 * u * (avg * runningVariance[$0] + (1 - avg) * unbiased[$0])
            }), "batchNormForwardTraining running variance (unbiased), \(c.name)", on: b)
        }
    }

    static func forwardInference(_ b: ConformanceContext) throws {
        for (m, n) in [(1, 5), (7, 13), (257, 65), (64, 96)] {   // 96: whole float4 vectors (the GPU shape's vector path)
            let u = b.u
            var rng = TestRandom(seed: 141 + UInt64(m))
            let x = rng.normal(m * n, mean: 0.5, sd: 2)
            let gamma = rng.signed(n, magnitude: 0.5, 2), beta = rng.normal(n)
            let runningMean = rng.normal(n)
            var runningVariance = rng.uniform(n, 0.5, 2)
            runningVariance[0] = 0  // a feature that never varied: 1/√ε
            let s = runningVariance.map { 1 / ($0 + Double(epsilon)).squareRoot() }
            let expected = Reference.normalize(x, rows: m, columns: n, mean: runningMean, inverseStd: s, gamma: gamma, beta: beta)
            // Same analysis as training with exact statistics: 4u·(|x| + |r_μ|)·|γ|s for the centring
            // (either grouping), ≤ 6u relative on γ·x̂ from sqrt and divide, two roundings on |β| and |y|.
            let atol = (0..<(m * n)).map { k -> Double in
                let j = k % n
                let xHat = (x[k] - runningMean[j]) * s[j]
                return abs(gamma[j]) * s[j] * 4 * u * (abs(x[k]) + abs(runningMean[j]))
                    + abs(gamma[j] * xHat) * 8 * u + 2 * u * (abs(beta[j]) + abs(expected[k]))
            }
            let ty = try b.backend.makeTensor(Shape(m, n))
            try b.backend.batchNormForwardInference(try b.tensor(m, n, x), gamma: try b.tensor(1, n, gamma),
                                                    beta: try b.tensor(1, n, beta), runningMean: try b.tensor(1, n, runningMean),
                                                    runningVariance: try b.tensor(1, n, runningVariance), epsilon: epsilon, output: ty)
            assertClose(try b.values(ty), expected, Tolerance(perElementAtol: atol), "batchNormForwardInference \(m)×\(n)", on: b)
        }
    }

    static func backward(_ b: ConformanceContext) throws {
        for (m, n) in [(1, 5), (7, 13), (257, 65), (64, 96)] {   // 96: whole float4 vectors (the GPU shape's vector path)
            let u = b.u
            var rng = TestRandom(seed: 151 + UInt64(m))
            var x = rng.normal(m * n, mean: 2, sd: 1.5)
            if m > 1 { for i in 0..<m { x[i * n + 1] = -0.7 } }  // a zero-variance feature
            let dy = rng.normal(m * n)
            let gamma = rng.signed(n, magnitude: 0.5, 2)
            // Saved statistics as a training forward pass would leave them, rounded to Float so that
            // backend and reference see identical values.
            let stats = Reference.batchStatistics(x, rows: m, columns: n)
            let mean = stats.mean.map { Double(Float($0)) }
            let s = stats.variance.map { Double(Float(1 / ($0 + Double(epsilon)).squareRoot())) }
            let ref = Reference.batchNormBackward(x, dy: dy, rows: m, columns: n, gamma: gamma, mean: mean, inverseStd: s)

            // x̂ = (x − μ)·s, recomputed by the backend: 3u·(|x| + |μ|)·s whichever grouping.
            // dβ = Σdy and dγ = Σdy·x̂: accurate sums, c(m)·u·Σ|terms|, and dγ inherits x̂'s error.
            // dx = γs·(dy − dβ/m − x̂·dγ/m): four roundings on each term's magnitude, plus the sums'
            // errors divided by m, plus x̂'s error times dγ/m; then two roundings on |dx|.
            let xHatError = (0..<(m * n)).map { 3 * u * (abs(x[$0]) + abs(mean[$0 % n])) * s[$0 % n] }
            var dBetaAtol = [Double](repeating: 0, count: n), dGammaAtol = [Double](repeating: 0, count: n)
            for k in 0..<(m * n) {
                let j = k % n
                let xHat = (x[k] - mean[j]) * s[j]
                dBetaAtol[j] += summationFactor(m) * u * abs(dy[k])
                dGammaAtol[j] += summationFactor(m) * u * abs(dy[k] * xHat) + abs(dy[k]) * xHatError[k]
            }
            let md = Double(m)
            let dxAtol = (0..<(m * n)).map { k -> Double in
                let j = k % n
                let xHat = abs((x[k] - mean[j]) * s[j])
                let terms = abs(dy[k]) + abs(ref.dBeta[j]) / md + xHat * abs(ref.dGamma[j]) / md
                return abs(gamma[j]) * s[j] * (4 * u * terms + dBetaAtol[j] / md + xHat * dGammaAtol[j] / md
                                               + xHatError[k] * abs(ref.dGamma[j]) / md) + 2 * u * abs(ref.dx[k])
            }

            let dx = try b.backend.makeTensor(Shape(m, n))
            let dGamma = try b.tensor(1, n, [Double](repeating: .nan, count: n))  // overwritten, not accumulated
            let dBeta = try b.tensor(1, n, [Double](repeating: .nan, count: n))
            try b.backend.batchNormBackward(try b.tensor(m, n, x), gradOutput: try b.tensor(m, n, dy),
                                            gamma: try b.tensor(1, n, gamma), savedMean: try b.tensor(1, n, mean),
                                            savedInverseStd: try b.tensor(1, n, s), gradInput: dx,
                                            gradGamma: dGamma, gradBeta: dBeta)
            assertClose(try b.values(dBeta), ref.dBeta, Tolerance(perElementAtol: dBetaAtol), "batchNormBackward dβ \(m)×\(n)", on: b)
            assertClose(try b.values(dGamma), ref.dGamma, Tolerance(perElementAtol: dGammaAtol), "batchNormBackward dγ \(m)×\(n)", on: b)
            assertClose(try b.values(dx), ref.dx, Tolerance(perElementAtol: dxAtol), "batchNormBackward dx \(m)×\(n)", on: b)
        }
    }
}
