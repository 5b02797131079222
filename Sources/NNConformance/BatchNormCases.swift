import Foundation
import NNCore

/// Batch normalisation: training forward (output, saved statistics, running statistics), inference
/// forward and backward (dx, dγ, dβ), including a zero-variance feature, a batch of one row, rows of
/// whole float4 vectors, and a 100,000-row column with mean 1e4 where a single-pass float sum of squares fails.
///
/// Each op is checked again fused with the ReLU after it (`…ReLU`: the forward ops with `relu: true`,
/// the backward from the ReLU's output), on the same inputs plus pre-activations of exactly 0,
/// against max(0, reference) and the reference backward of the masked gradient. The bounds are the
/// unfused ones: max(0, ·) is 1-Lipschitz, so it never enlarges an error, and the mask compares
/// values the backend is given, so the masked gradient is exact.
enum BatchNormCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(.batchNorm, "forwardTraining") { try forwardTraining($0, relu: false) },
        ConformanceCase(.batchNorm, "forwardInference") { try forwardInference($0, relu: false) },
        ConformanceCase(.batchNorm, "backward") { try backward($0, relu: false) },
        ConformanceCase(.batchNorm, "forwardTrainingReLU") { try forwardTraining($0, relu: true) },
        ConformanceCase(.batchNorm, "forwardInferenceReLU") { try forwardInference($0, relu: true) },
        ConformanceCase(.batchNorm, "backwardReLU") { try backward($0, relu: true) },
    ]

    private static let epsilon: Float = 1e-5
    private static let averagingBeta: Float = 0.9

    private struct Case {
        let name: String
        let rows: Int
        let columns: Int
        let x: [Double]
    }

    /// Columns 0 and 1 hold −3…3 (each sum, and so the mean, is exact: 0): where x = 0, x − μ is
    /// exactly 0, and with β = 0 in those columns (forwardTraining sets it) so is the pre-activation.
    private static func exactZeroCase() -> Case {
        var rng = TestRandom(seed: 127)
        var x = rng.normal(8 * 6, mean: 0.25, sd: 1)
        for (i, v) in [-3.0, -2, -1, 0, 0, 1, 2, 3].enumerated() {
            x[i * 6] = v
            x[i * 6 + 1] = -v
        }
        return Case(name: "8×6 with pre-activations of exactly 0", rows: 8, columns: 6, x: x)
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
            // The GPU shape's batches of up to 256 rows take one launch per direction, longer ones
            // row chunks and their combination: 256 and 257 rows are the last and the first.
            Case(name: "256×70", rows: 256, columns: 70, x: rng.normal(256 * 70, mean: 0.5, sd: 4)),
            Case(name: "257×65", rows: 257, columns: 65, x: rng.normal(257 * 65, mean: -1, sd: 3)),
            // Whole float4 vectors per row and several row chunks: the GPU shape's vector passes.
            Case(name: "300×96", rows: 300, columns: 96, x: rng.normal(300 * 96, mean: 2, sd: 0.5)),
            Case(name: "batch of one row", rows: 1, columns: 5, x: rng.normal(5)),
            Case(name: "100000×2, column 0 = 1e4 + N(0, 1)", rows: 100_000, columns: 2, x: large),
            exactZeroCase(),
        ]
    }

    /// The training forward, with `relu`: z = max(0, y), the statistics unchanged.
    static func forwardTraining(_ b: ConformanceContext, relu: Bool) throws {
        let op = relu ? "batchNormForwardTraining(relu)" : "batchNormForwardTraining"
        let allCases = cases()
        for c in allCases {
            let (m, n, u) = (c.rows, c.columns, b.u)
            var rng = TestRandom(seed: 131 + UInt64(m))
            let gamma = rng.signed(n, magnitude: 0.5, 2)
            var beta = rng.normal(n)
            // β = 0 where a column's mean is exact: pre-activations of exactly 0 (in the 8×6 case, and
            // in the batch of one row, whose every x̂ is 0).
            beta[0] = 0
            if n > 1 { beta[1] = 0 }
            let runningMean = rng.normal(n), runningVariance = rng.uniform(n, 0.5, 2)
            let stats = Reference.batchStatistics(c.x, rows: m, columns: n)
            let eps = Double(epsilon), avg = Double(averagingBeta)
            let inverseStd = stats.variance.map { 1 / ($0 + eps).squareRoot() }
            let preActivation = Reference.normalize(c.x, rows: m, columns: n, mean: stats.mean, inverseStd: inverseStd,
                                                    gamma: gamma, beta: beta)
            let expectedY = relu ? preActivation.map { Reference.activation(.relu, $0) } : preActivation
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
                    // Bounded by the pre-activation's magnitude, which the ReLU's output can be below.
                    yAtol[k] = abs(gamma[j]) * inverseStd[j] * (meanError[j] + 4 * u * (abs(c.x[k]) + abs(stats.mean[j])))
                        + abs(gamma[j] * xHat) * (inverseStdRelError[j] + 2 * u) + 2 * u * (abs(beta[j]) + abs(preActivation[k]))
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
                                                   savedInverseStd: tInverseStd, relu: relu)
            assertClose(try b.values(tMean), stats.mean, Tolerance(perElementAtol: meanError),
                        "\(op) saved mean, \(c.name)", on: b)
            assertClose(try b.values(tInverseStd), inverseStd,
                        Tolerance(perElementAtol: (0..<n).map { inverseStdRelError[$0] * inverseStd[$0] }),
                        "\(op) saved 1/√(σ²+ε), \(c.name)", on: b)
            let y = try b.values(ty)
            assertClose(y, expectedY, Tolerance(perElementAtol: yAtol), "\(op) output, \(c.name)", on: b)
            if relu, let negative = y.firstIndex(where: { !($0 >= 0) }) {
                b.fail("[\(b.label)] \(op) output, \(c.name): element \(negative) is \(y[negative]), below the ReLU's 0")
            }
            // Running statistics: r ← β·r + (1 − β)·θ: θ's error scaled by 1 − β, and three roundings.
            let unbiasFactor = m > 1 ? Double(m) / Double(m - 1) : 1
            assertClose(try b.values(tRunningMean), expectedRunningMean, Tolerance(perElementAtol: (0..<n).map {
                (1 - avg) * meanError[$0] + 3 * u * (abs(avg * runningMean[$0]) + abs((1 - avg) * stats.mean[$0]))
            }), "\(op) running mean, \(c.name)", on: b)
            assertClose(try b.values(tRunningVariance), expectedRunningVariance, Tolerance(perElementAtol: (0..<n).map {
                (1 - avg) * varianceError[$0] * unbiasFactor + 4 * u * (avg * runningVariance[$0] + (1 - avg) * unbiased[$0])
            }), "\(op) running variance (unbiased), \(c.name)", on: b)
        }
    }

    /// The inference forward, with `relu`: z = max(0, y).
    static func forwardInference(_ b: ConformanceContext, relu: Bool) throws {
        let op = relu ? "batchNormForwardInference(relu)" : "batchNormForwardInference"
        for (m, n) in [(1, 5), (7, 13), (257, 65), (64, 96)] {   // 96: whole float4 vectors (the GPU shape's vector path)
            let u = b.u
            var rng = TestRandom(seed: 141 + UInt64(m))
            var x = rng.normal(m * n, mean: 0.5, sd: 2)
            let gamma = rng.signed(n, magnitude: 0.5, 2)
            var beta = rng.normal(n)
            let runningMean = rng.normal(n)
            var runningVariance = rng.uniform(n, 0.5, 2)
            runningVariance[0] = 0  // a feature that never varied: 1/√ε
            // Every other row of feature 1 at its running mean, with β = 0: pre-activations of exactly 0.
            beta[1] = 0
            for i in stride(from: 0, to: m, by: 2) { x[i * n + 1] = runningMean[1] }
            let s = runningVariance.map { 1 / ($0 + Double(epsilon)).squareRoot() }
            let preActivation = Reference.normalize(x, rows: m, columns: n, mean: runningMean, inverseStd: s, gamma: gamma, beta: beta)
            let expected = relu ? preActivation.map { Reference.activation(.relu, $0) } : preActivation
            // Same analysis as training with exact statistics: 4u·(|x| + |r_μ|)·|γ|s for the centring
            // (either grouping), ≤ 6u relative on γ·x̂ from sqrt and divide, two roundings on |β| and |y|.
            let atol = (0..<(m * n)).map { k -> Double in
                let j = k % n
                let xHat = (x[k] - runningMean[j]) * s[j]
                return abs(gamma[j]) * s[j] * 4 * u * (abs(x[k]) + abs(runningMean[j]))
                    + abs(gamma[j] * xHat) * 8 * u + 2 * u * (abs(beta[j]) + abs(preActivation[k]))
            }
            let ty = try b.backend.makeTensor(Shape(m, n))
            try b.backend.batchNormForwardInference(try b.tensor(m, n, x), gamma: try b.tensor(1, n, gamma),
                                                    beta: try b.tensor(1, n, beta), runningMean: try b.tensor(1, n, runningMean),
                                                    runningVariance: try b.tensor(1, n, runningVariance), epsilon: epsilon,
                                                    output: ty, relu: relu)
            assertClose(try b.values(ty), expected, Tolerance(perElementAtol: atol), "\(op) \(m)×\(n)", on: b)
        }
    }

    /// The backward; with `relu`, from a ReLU output z and its gradient dz, against the reference
    /// backward of dy = dz where z > 0, else 0. Run twice: into a separate dx, and in place (dx is
    /// the gradient tensor), which both ops allow and the composed fused backward relies on.
    static func backward(_ b: ConformanceContext, relu: Bool) throws {
        let op = relu ? "batchNormBackward(relu)" : "batchNormBackward"
        for (m, n) in [(1, 5), (7, 13), (257, 65), (64, 96)] {   // 96: whole float4 vectors (the GPU shape's vector path)
            let u = b.u
            var rng = TestRandom(seed: 151 + UInt64(m))
            var x = rng.normal(m * n, mean: 2, sd: 1.5)
            if m > 1 { for i in 0..<m { x[i * n + 1] = -0.7 } }  // a zero-variance feature
            let gradient = rng.normal(m * n)
            let gamma = rng.signed(n, magnitude: 0.5, 2)
            // Saved statistics as a training forward pass would leave them, rounded to Float so that
            // backend and reference see identical values.
            let stats = Reference.batchStatistics(x, rows: m, columns: n)
            let mean = stats.mean.map { Double(Float($0)) }
            let s = stats.variance.map { Double(Float(1 / ($0 + Double(epsilon)).squareRoot())) }
            // The ReLU output: a forward's max(0, γ·x̂ + β) (half of it 0, where the pre-activation is
            // negative), then exact zeros (a pre-activation of exactly 0 passes no gradient), −0, and
            // negative values, which the op masks like 0 (z ≤ 0) though no ReLU produces them.
            let beta = rng.normal(n)
            var z = Reference.normalize(x, rows: m, columns: n, mean: mean, inverseStd: s, gamma: gamma, beta: beta)
                .map { Double(Float(Reference.activation(.relu, $0))) }
            for k in stride(from: 0, to: m * n, by: 7) { z[k] = 0 }
            for k in stride(from: 3, to: m * n, by: 11) { z[k] = -0.0 }
            for k in stride(from: 5, to: m * n, by: 13) { z[k] = -1.5 }
            let dy = relu ? (0..<(m * n)).map { z[$0] > 0 ? gradient[$0] : 0 } : gradient
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

            let tx = try b.tensor(m, n, x), tz = try b.tensor(m, n, z), tGamma = try b.tensor(1, n, gamma)
            let tMean = try b.tensor(1, n, mean), tInverseStd = try b.tensor(1, n, s)
            for inPlace in [false, true] {
                let tGradient = try b.tensor(m, n, relu ? gradient : dy)
                let dx = inPlace ? tGradient : try b.backend.makeTensor(Shape(m, n))
                let dGamma = try b.tensor(1, n, [Double](repeating: .nan, count: n))  // overwritten, not accumulated
                let dBeta = try b.tensor(1, n, [Double](repeating: .nan, count: n))
                if relu {
                    try b.backend.batchNormBackward(tx, reluOutput: tz, gradOutput: tGradient, gamma: tGamma, savedMean: tMean,
                                                    savedInverseStd: tInverseStd, gradInput: dx, gradGamma: dGamma, gradBeta: dBeta)
                } else {
                    try b.backend.batchNormBackward(tx, gradOutput: tGradient, gamma: tGamma, savedMean: tMean,
                                                    savedInverseStd: tInverseStd, gradInput: dx, gradGamma: dGamma, gradBeta: dBeta)
                }
                let what = "\(op)\(inPlace ? " in place" : "") \(m)×\(n)"
                assertClose(try b.values(dBeta), ref.dBeta, Tolerance(perElementAtol: dBetaAtol), "\(what) dβ", on: b)
                assertClose(try b.values(dGamma), ref.dGamma, Tolerance(perElementAtol: dGammaAtol), "\(what) dγ", on: b)
                assertClose(try b.values(dx), ref.dx, Tolerance(perElementAtol: dxAtol), "\(what) dx", on: b)
            }
        }
    }
}
