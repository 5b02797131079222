import Foundation

/// Gaussian-process regression for ``GPSampler``: a Matérn-5/2 kernel with one length scale per
/// hyperparameter (a choice's one-hot columns share theirs), unit signal variance (the targets are
/// standardised first) and a fitted observation noise.
///
/// The noise term matters on a trial objective: two runs a hair apart in learning rate end a few
/// tenths of a point apart in dev accuracy, so a model that interpolated every trial exactly would
/// chase that scatter instead of the trend.
struct GaussianProcess {
    /// The kernel's settings: a length scale per hyperparameter, on the unit-cube features, and the
    /// noise variance relative to the (unit) signal variance.
    struct Settings: Equatable {
        var lengthScales: [Double]
        var noise: Double

        static let lengthScaleRange = 0.03...4.0
        static let noiseRange = 1e-4...0.5
    }

    let points: [[Double]]
    /// Which length scale each feature column uses.
    let scaleOfColumn: [Int]
    let settings: Settings
    /// The lower Cholesky factor of K + noise·I, row-major n × n.
    private let factor: [Double]
    /// (K + noise·I)⁻¹ y.
    private let weights: [Double]
    /// log p(y | settings).
    let logMarginalLikelihood: Double

    /// The fitted process, or nil when K + noise·I is not positive definite even with extra jitter.
    init?(points: [[Double]], targets: [Double], scaleOfColumn: [Int], settings: Settings) {
        let n = points.count
        guard n > 0, targets.count == n else { return nil }
        self.points = points
        self.scaleOfColumn = scaleOfColumn
        self.settings = settings
        var kernel = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                let k = Self.kernel(points[i], points[j], scaleOfColumn: scaleOfColumn, lengthScales: settings.lengthScales)
                kernel[i * n + j] = k
                kernel[j * n + i] = k
            }
        }
        // Duplicate or near-duplicate trials make K singular in floating point; a little jitter
        // (relative to the unit signal variance) restores positive definiteness without moving the fit.
        var factored: [Double]?
        for jitter in [1e-8, 1e-6, 1e-4] {
            var a = kernel
            for i in 0..<n { a[i * n + i] += settings.noise + jitter }
            if Self.choleskyInPlace(&a, n) { factored = a; break }
        }
        guard let factor = factored else { return nil }
        self.factor = factor
        let weights = Self.solveUpper(factor, n, Self.solveLower(factor, n, targets))
        self.weights = weights
        var logDeterminant = 0.0
        for i in 0..<n { logDeterminant += 2 * log(factor[i * n + i]) }
        let fit = zip(targets, weights).reduce(0) { $0 + $1.0 * $1.1 }
        logMarginalLikelihood = -0.5 * fit - 0.5 * logDeterminant - 0.5 * Double(n) * log(2 * Double.pi)
    }

    /// The posterior mean and variance of the latent function at `x` (add ``Settings/noise`` for a
    /// new observation's variance).
    func predict(_ x: [Double]) -> (mean: Double, variance: Double) {
        let n = points.count
        let k = points.map { Self.kernel(x, $0, scaleOfColumn: scaleOfColumn, lengthScales: settings.lengthScales) }
        let mean = zip(k, weights).reduce(0) { $0 + $1.0 * $1.1 }
        let v = Self.solveLower(factor, n, k)
        let variance = 1 - v.reduce(0) { $0 + $1 * $1 }
        return (mean, max(variance, 1e-12))
    }

    /// The settings with the highest marginal likelihood among a default, `randomStarts` log-uniform
    /// draws, and a few passes of coordinate steps from the best of those, with its process.
    static func fitted(points: [[Double]], targets: [Double], scaleOfColumn: [Int], scaleCount: Int,
                       randomStarts: Int = 32, generator: inout SplitMix64) -> GaussianProcess? {
        func logUniform(_ range: ClosedRange<Double>) -> Double {
            exp(log(range.lowerBound) + generator.uniform() * (log(range.upperBound) - log(range.lowerBound)))
        }
        func process(_ s: Settings) -> GaussianProcess? {
            GaussianProcess(points: points, targets: targets, scaleOfColumn: scaleOfColumn, settings: s)
        }
        var best = process(Settings(lengthScales: Array(repeating: 0.5, count: scaleCount), noise: 0.05))
        for _ in 0..<randomStarts {
            let s = Settings(lengthScales: (0..<scaleCount).map { _ in logUniform(Settings.lengthScaleRange) },
                             noise: logUniform(Settings.noiseRange))
            if let p = process(s), p.logMarginalLikelihood > best?.logMarginalLikelihood ?? -.infinity { best = p }
        }
        // Coordinate steps by a factor of 1.6 up and down, clamped to the ranges: cheap, and enough
        // to settle each scale once the random starts have found the right basin.
        for _ in 0..<3 {
            guard let current = best else { break }
            var improved = false
            for index in 0...scaleCount {
                for factor in [1.6, 1 / 1.6] {
                    guard let incumbent = best else { continue }
                    var s = incumbent.settings
                    if index < scaleCount {
                        s.lengthScales[index] = (s.lengthScales[index] * factor).clamped(to: Settings.lengthScaleRange)
                    } else {
                        s.noise = (s.noise * factor).clamped(to: Settings.noiseRange)
                    }
                    if s != incumbent.settings, let p = process(s), p.logMarginalLikelihood > incumbent.logMarginalLikelihood {
                        best = p
                        improved = true
                    }
                }
            }
            if !improved || best?.settings == current.settings { break }
        }
        return best
    }

    /// Matérn 5/2 of the scaled distance between `a` and `b`.
    static func kernel(_ a: [Double], _ b: [Double], scaleOfColumn: [Int], lengthScales: [Double]) -> Double {
        var squared = 0.0
        for i in a.indices {
            let d = (a[i] - b[i]) / lengthScales[scaleOfColumn[i]]
            squared += d * d
        }
        let r = (5 * squared).squareRoot()
        return (1 + r + r * r / 3) * exp(-r)
    }

    /// Overwrites the lower triangle of the symmetric n × n matrix `a` with its Cholesky factor;
    /// false when `a` is not positive definite.
    static func choleskyInPlace(_ a: inout [Double], _ n: Int) -> Bool {
        for j in 0..<n {
            var diagonal = a[j * n + j]
            for k in 0..<j { diagonal -= a[j * n + k] * a[j * n + k] }
            guard diagonal > 0, diagonal.isFinite else { return false }
            let root = diagonal.squareRoot()
            a[j * n + j] = root
            for i in (j + 1)..<max(n, j + 1) {
                var s = a[i * n + j]
                for k in 0..<j { s -= a[i * n + k] * a[j * n + k] }
                a[i * n + j] = s / root
            }
        }
        return true
    }

    /// x with L x = b, L the lower factor.
    static func solveLower(_ l: [Double], _ n: Int, _ b: [Double]) -> [Double] {
        var x = b
        for i in 0..<n {
            var s = x[i]
            for k in 0..<i { s -= l[i * n + k] * x[k] }
            x[i] = s / l[i * n + i]
        }
        return x
    }

    /// x with Lᵀ x = b, L the lower factor.
    static func solveUpper(_ l: [Double], _ n: Int, _ b: [Double]) -> [Double] {
        var x = b
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = x[i]
            for k in (i + 1)..<max(n, i + 1) { s -= l[k * n + i] * x[k] }
            x[i] = s / l[i * n + i]
        }
        return x
    }
}

extension Double {
    func clamped(to range: ClosedRange<Double>) -> Double { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
