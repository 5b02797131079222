import NNCore

/// L2 and L1 weight penalties in the course's form: the cost gains λ₂/(2m)·Σ‖W‖²_F + λ₁/m·Σ|w| over
/// dense weights only (never biases, γ or β), and the gradient gains (λ₂/m)·W + (λ₁/m)·sign(W).
///
/// In mini-batch training, m is the size of the whole training set: the mini-batch gradient is then
/// an unbiased estimate of the full cost's gradient, and λ means the same whatever the batch size.
public struct Regularization: Sendable, Codable, Equatable {
    /// λ₂ of the L2 penalty λ₂/(2m)·Σ‖W‖².
    public var l2: Float
    /// λ₁ of the L1 penalty λ₁/m·Σ|w|.
    public var l1: Float

    /// No penalty.
    public static let none = Regularization()

    /// Penalties with the given λs.
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` for a negative or non-finite λ.
    public init(l2: Float = 0, l1: Float = 0) throws {
        self.l2 = l2
        self.l1 = l1
        try validate()
    }

    private init() {
        l2 = 0
        l1 = 0
    }

    /// Checks that both λs are finite and ≥ 0.
    public func validate() throws {
        for (name, value) in [("L2 λ", l2), ("L1 λ", l1)] where !(value >= 0) || !value.isFinite {
            throw NNError.invalidArgument(op: "regularization", detail: "\(name) = \(value) must be a finite number ≥ 0")
        }
    }

    /// Whether either penalty is on.
    public var isActive: Bool { l2 > 0 || l1 > 0 }

    /// The per-update penalty for weights, given the m of the cost.
    public func weightPenalty(sampleCount m: Int) -> WeightPenalty {
        WeightPenalty(l2: l2 / Float(m), l1: l1 / Float(m))
    }
}
