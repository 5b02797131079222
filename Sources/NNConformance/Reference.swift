import Foundation
import NNCore

/// The Float64 oracle: every op as plain loops over row-major matrices, written for clarity, not
/// speed. Inputs are the same Float-representable values the backends receive, so the only
/// differences the tests see are the backends' own rounding errors.
enum Reference {
    /// Σ values with Neumaier's compensated summation: error ≈ u·|Σ| + n·u²·Σ|x| in Float64, far below
    /// any backend's error (float32's u = 2⁻²⁴, or the float64 backend's own c(n)·2⁻⁵³·Σ|x| bound), so
    /// the oracle never eats into a tolerance.
    static func sum<S: Sequence>(_ values: S) -> Double where S.Element == Double {
        var total = 0.0, compensation = 0.0
        for v in values {
            let t = total + v
            compensation += abs(total) >= abs(v) ? (total - t) + v : (v - t) + total
            total = t
        }
        return total + compensation
    }

    /// Element (i, j) of op(X) where X is stored `rows × columns` row-major.
    static func element(_ x: [Double], columns: Int, transposed: Bool, _ i: Int, _ j: Int) -> Double {
        transposed ? x[j * columns + i] : x[i * columns + j]
    }

    /// C ← α·op(A)·op(B) + β·C (β = 0 ignores C), and per element the magnitude
    /// |α|·Σ|a||b| + |β|·|c| that bounds its rounding error.
    static func gemm(_ a: [Double], aShape: Shape, transposeA: Bool, _ b: [Double], bShape: Shape, transposeB: Bool,
                     c: [Double], alpha: Double, beta: Double) -> (c: [Double], magnitude: [Double]) {
        let m = transposeA ? aShape.columns : aShape.rows
        let k = transposeA ? aShape.rows : aShape.columns
        let n = transposeB ? bShape.rows : bShape.columns
        // Rows of op(A) and columns of op(B), laid out contiguously so the dot products read in order.
        let rowsOfA = (0..<m).map { i in (0..<k).map { p in element(a, columns: aShape.columns, transposed: transposeA, i, p) } }
        let columnsOfB = (0..<n).map { j in (0..<k).map { p in element(b, columns: bShape.columns, transposed: transposeB, p, j) } }
        var out = [Double](repeating: 0, count: m * n)
        var magnitude = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                let (sum, sumAbs) = compensatedDot(rowsOfA[i], columnsOfB[j])
                let old = beta == 0 ? 0 : beta * c[i * n + j]
                out[i * n + j] = alpha * sum + old
                magnitude[i * n + j] = abs(alpha) * sumAbs + abs(old)
            }
        }
        return (out, magnitude)
    }

    /// Σ xᵢ·yᵢ and Σ |xᵢ·yᵢ|. Products of two Float-representable values are exact in Float64, and the
    /// sum is compensated as in ``sum(_:)`` — written out here because it runs millions of times per test.
    static func compensatedDot(_ x: [Double], _ y: [Double]) -> (sum: Double, sumOfAbsolute: Double) {
        x.withUnsafeBufferPointer { x in
            y.withUnsafeBufferPointer { y in
                var sum = 0.0, compensation = 0.0, sumAbs = 0.0
                for p in 0..<x.count {
                    let term = x[p] * y[p]
                    let t = sum + term
                    compensation += abs(sum) >= abs(term) ? (sum - t) + term : (term - t) + sum
                    sum = t
                    sumAbs += abs(term)
                }
                return (sum + compensation, sumAbs)
            }
        }
    }

    static func columnSums(_ x: [Double], rows: Int, columns: Int) -> [Double] {
        (0..<columns).map { j in sum((0..<rows).lazy.map { x[$0 * columns + j] }) }
    }

    static func apply(_ reduction: Reduction, _ v: Double) -> Double {
        switch reduction {
        case .sum: return v
        case .sumOfSquares: return v * v
        case .sumOfAbsolute: return abs(v)
        }
    }

    static func activation(_ f: Activation, _ x: Double) -> Double {
        switch f {
        case .relu: return x < 0 ? 0 : x   // NaN stays NaN
        case .tanh: return tanh(x)
        case .sigmoid: return 1 / (1 + exp(-x))
        }
    }

    /// f′ written in terms of the forward output y, as the protocol specifies.
    static func activationDerivative(_ f: Activation, output y: Double) -> Double {
        switch f {
        case .relu: return y > 0 ? 1 : 0
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        }
    }

    static func softmax(_ x: [Double], rows: Int, columns: Int) -> [Double] {
        var y = x
        for i in 0..<rows {
            let row = x[(i * columns)..<((i + 1) * columns)]
            let mx = row.max() ?? 0
            let sum = Self.sum(row.lazy.map { exp($0 - mx) })
            for j in 0..<columns { y[i * columns + j] = exp(x[i * columns + j] - mx) / sum }
        }
        return y
    }

    /// Per-row losses −log ŷ[i, yᵢ] via log-sum-exp (NaN for a label outside 0..<C), and (ŷ − onehot)/m.
    static func softmaxCrossEntropy(_ logits: [Double], labels: [Double], rows m: Int, columns c: Int)
        -> (rowLosses: [Double], gradient: [Double]) {
        let p = softmax(logits, rows: m, columns: c)
        var losses = [Double](repeating: 0, count: m)
        var gradient = p.map { $0 / Double(m) }
        for i in 0..<m {
            let row = logits[(i * c)..<((i + 1) * c)]
            let mx = row.max() ?? 0
            let lse = mx + log(sum(row.lazy.map { exp($0 - mx) }))
            guard let label = Int(exactly: labels[i]), (0..<c).contains(label) else {
                losses[i] = .nan
                continue
            }
            losses[i] = lse - logits[i * c + label]
            gradient[i * c + label] -= 1 / Double(m)
        }
        return (losses, gradient)
    }

    static func softplus(_ z: Double) -> Double {
        max(z, 0) + log1p(exp(-abs(z)))
    }

    /// Per-row losses softplus(z) − y·z and the gradient (σ(z) − y)/m.
    static func sigmoidCrossEntropy(_ z: [Double], labels: [Double]) -> (rowLosses: [Double], gradient: [Double]) {
        let m = Double(z.count)
        let losses = zip(z, labels).map { softplus($0) - $1 * $0 }
        let gradient = zip(z, labels).map { (activation(.sigmoid, $0) - $1) / m }
        return (losses, gradient)
    }

    /// Index of the first maximum of each row; a NaN is never the maximum (a row of NaNs gives 0).
    static func argmaxRows(_ x: [Double], rows: Int, columns: Int) -> [Double] {
        (0..<rows).map { i in
            var best = 0
            for j in 1..<max(columns, 1) {
                let (v, b) = (x[i * columns + j], x[i * columns + best])
                if v > b || (b.isNaN && !v.isNaN) { best = j }
            }
            return Double(best)
        }
    }

    struct BatchStatistics {
        var mean: [Double]
        /// Biased (1/m) variance, as used to normalise.
        var variance: [Double]
    }

    /// Two-pass per-column mean and biased variance.
    static func batchStatistics(_ x: [Double], rows m: Int, columns n: Int) -> BatchStatistics {
        let mean = columnSums(x, rows: m, columns: n).map { $0 / Double(m) }
        let variance = (0..<n).map { j in
            sum((0..<m).lazy.map { i in (x[i * n + j] - mean[j]) * (x[i * n + j] - mean[j]) }) / Double(m)
        }
        return BatchStatistics(mean: mean, variance: variance)
    }

    /// y = γ·(x − μ)·s + β for per-column μ and s = 1/√(σ² + ε).
    static func normalize(_ x: [Double], rows m: Int, columns n: Int, mean: [Double], inverseStd: [Double],
                          gamma: [Double], beta: [Double]) -> [Double] {
        var y = x
        for i in 0..<m {
            for j in 0..<n { y[i * n + j] = gamma[j] * (x[i * n + j] - mean[j]) * inverseStd[j] + beta[j] }
        }
        return y
    }

    /// dβ = Σ dy, dγ = Σ dy·x̂, dx = γ·s·(dy − dβ/m − x̂·dγ/m) with x̂ = (x − μ)·s.
    static func batchNormBackward(_ x: [Double], dy: [Double], rows m: Int, columns n: Int, gamma: [Double],
                                  mean: [Double], inverseStd: [Double])
        -> (dx: [Double], dGamma: [Double], dBeta: [Double]) {
        let dBeta = columnSums(dy, rows: m, columns: n)
        let dGamma = (0..<n).map { j in
            sum((0..<m).lazy.map { i in dy[i * n + j] * (x[i * n + j] - mean[j]) * inverseStd[j] })
        }
        var dx = x
        for i in 0..<m {
            for j in 0..<n {
                let xHat = (x[i * n + j] - mean[j]) * inverseStd[j]
                dx[i * n + j] = gamma[j] * inverseStd[j]
                    * (dy[i * n + j] - dBeta[j] / Double(m) - xHat * dGamma[j] / Double(m))
            }
        }
        return (dx, dGamma, dBeta)
    }

    /// g + l2·w + l1·sign(w)
    static func penalized(_ g: Double, _ w: Double, _ penalty: WeightPenalty) -> Double {
        let sign: Double = w > 0 ? 1 : (w < 0 ? -1 : 0)
        return g + Double(penalty.l2) * w + Double(penalty.l1) * sign
    }

    /// One optimiser step in Float64, the course's forms as documented on `UpdateRule`.
    /// Returns the per-element update magnitude |Δw| for the error bound.
    @discardableResult
    static func update(_ rule: UpdateRule, learningRate lr: Float, step: Int, penalty: WeightPenalty, w: inout [Double], g: [Double],
                       state: inout [[Double]]) -> [Double] {
        var delta = [Double](repeating: 0, count: w.count)
        for i in w.indices {
            let gi = penalized(g[i], w[i], penalty)
            switch rule {
            case .sgd:
                delta[i] = Double(lr) * gi
            case let .momentum(beta):
                let b = Double(beta)
                state[0][i] = b * state[0][i] + (1 - b) * gi
                delta[i] = Double(lr) * state[0][i]
            case let .rmsprop(beta, eps):
                let b = Double(beta)
                state[0][i] = b * state[0][i] + (1 - b) * gi * gi
                delta[i] = Double(lr) * gi / (state[0][i].squareRoot() + Double(eps))
            case let .adam(beta1, beta2, eps):
                let b1 = Double(beta1), b2 = Double(beta2)
                state[0][i] = b1 * state[0][i] + (1 - b1) * gi
                state[1][i] = b2 * state[1][i] + (1 - b2) * gi * gi
                let mHat = state[0][i] / (1 - pow(b1, Double(step)))
                let vHat = state[1][i] / (1 - pow(b2, Double(step)))
                delta[i] = Double(lr) * mHat / (vHat.squareRoot() + Double(eps))
            }
            w[i] -= delta[i]
        }
        return delta.map(abs)
    }
}
