import NNCore

/// An exponentially weighted average v ← β·v + (1 − β)·x, starting at v = 0, with the course's
/// optional bias correction v / (1 − βᵗ) that removes the pull towards 0 in the first steps.
///
/// The same rule runs inside the backend's kernels: momentum's velocity and Adam's moments (Adam
/// with bias correction, momentum without), and batch norm's running mean and variance (without
/// correction, β = 1 − PyTorch's momentum). This value type is for host-side quantities such as
/// smoothed loss and throughput in progress reports.
public struct ExponentialAverage: Sendable, Codable, Equatable {
    public let beta: Double
    public let biasCorrection: Bool
    public private(set) var rawValue: Double = 0
    public private(set) var count: Int = 0

    /// β in [0, 1); about 1/(1 − β) recent values dominate.
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` for β outside [0, 1).
    public init(beta: Double, biasCorrection: Bool = true) throws {
        guard beta >= 0, beta < 1 else {
            throw NNError.invalidArgument(op: "ExponentialAverage", detail: "β = \(beta) must lie in [0, 1)")
        }
        self.beta = beta
        self.biasCorrection = biasCorrection
    }

    public mutating func add(_ x: Double) {
        rawValue = beta * rawValue + (1 - beta) * x
        count += 1
    }

    /// The average; nil before the first value.
    public var value: Double? {
        guard count > 0 else { return nil }
        guard biasCorrection else { return rawValue }
        let correction = 1 - pow(beta, count)
        return correction > 0 ? rawValue / correction : rawValue
    }

    private func pow(_ b: Double, _ n: Int) -> Double {
        var result = 1.0, base = b, e = n
        while e > 0 {
            if e & 1 == 1 { result *= base }
            base *= base
            e >>= 1
        }
        return result
    }
}
