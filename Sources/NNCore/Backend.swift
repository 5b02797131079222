/// The numeric precision a backend stores and computes in.
///
/// Training runs in `float32` everywhere. `float64` exists for one purpose: gradient checking,
/// where two-sided differences with ε = 1e-7 are only meaningful in double precision. Only the
/// native backend offers it.
public enum Precision: String, Sendable, CaseIterable {
    case float32
    case float64
}

/// Element-wise nonlinearities. Backward passes take the activation's *output*: for all three,
/// the derivative is a function of the output alone (ReLU: y > 0; tanh: 1 − y²; sigmoid: y(1 − y)),
/// so layers keep one saved tensor instead of two. Every backend's ReLU, alone or fused into a GEMM
/// or batch-norm epilogue, is `x < 0 ? 0 : x`: a NaN passes through (as in PyTorch) so that a
/// diverging run shows in its loss instead of being hidden behind zeros.
public enum Activation: String, Sendable, CaseIterable, Codable {
    case relu
    case tanh
    case sigmoid
}

/// Reductions of a whole tensor to one value.
public enum Reduction: String, Sendable, CaseIterable {
    /// Σ x
    case sum
    /// Σ x², for the L2 penalty.
    case sumOfSquares
    /// Σ |x|, for the L1 penalty.
    case sumOfAbsolute
}

/// An optimiser rule and its hyperparameters: the one type from `nn train --optimizer` and
/// `TrainingConfig.optimizer` down to the backends' fused update kernels. The learning rate (which a
/// schedule changes every step) and Adam's step count travel beside it, in
/// ``Backend/update(_:learningRate:step:penalty:parameter:gradient:state:)``.
///
/// The course's forms are used throughout: momentum keeps v = β·v + (1 − β)·g (an exponentially
/// weighted average, not PyTorch's v = μ·v + g), so the learning rate means the same thing for SGD
/// and momentum. RMSprop divides by √s + ε. Adam bias-corrects both moments with the step number
/// `t` (counted from 1). Defaults are the course's: momentum β 0.9, RMSprop β 0.999 and ε 1e-8,
/// Adam 0.9/0.999/1e-8. Encoded as the enum it replaced (`{"adam":{"beta1":…}}`), so saved runs read.
public enum UpdateRule: Sendable, Codable, Equatable {
    /// w ← w − α·g
    case sgd
    /// v ← β·v + (1−β)·g; w ← w − α·v. State: [v].
    case momentum(beta: Float = 0.9)
    /// s ← β·s + (1−β)·g²; w ← w − α·g / (√s + ε). State: [s].
    case rmsprop(beta: Float = 0.999, epsilon: Float = 1e-8)
    /// m ← β₁·m + (1−β₁)·g; v ← β₂·v + (1−β₂)·g²;
    /// w ← w − α·(m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε). State: [m, v].
    case adam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8)

    /// Adam with the course's defaults.
    public static let adam = UpdateRule.adam()

    /// "sgd", "momentum", "rmsprop", "adam".
    public var name: String {
        switch self {
        case .sgd: return "sgd"
        case .momentum: return "momentum"
        case .rmsprop: return "rmsprop"
        case .adam: return "adam"
        }
    }

    /// Names of the per-parameter state tensors, in the order the update takes them.
    public var stateNames: [String] {
        switch self {
        case .sgd: return []
        case .momentum: return ["v"]
        case .rmsprop: return ["s"]
        case .adam: return ["m", "v"]
        }
    }

    /// How many state tensors (each shaped like the parameter) the rule keeps.
    public var stateCount: Int { stateNames.count }

    /// Checks β ∈ [0, 1) and ε > 0: the one place the rule's hyperparameters are validated
    /// (``OpCheck/rule(_:learningRate:step:penalty:)`` adds the per-step values).
    public func validate() throws {
        let op = "update"
        func beta(_ name: String, _ b: Float) throws {
            guard b >= 0, b < 1 else {
                throw NNError.invalidArgument(op: op, detail: "\(name) = \(b) must lie in [0, 1)")
            }
        }
        switch self {
        case .sgd: break
        case let .momentum(b): try beta("β", b)
        case let .rmsprop(b, eps):
            try beta("β", b)
            guard eps > 0 else { throw NNError.invalidArgument(op: op, detail: "ε = \(eps) must be > 0") }
        case let .adam(b1, b2, eps):
            try beta("β₁", b1)
            try beta("β₂", b2)
            guard eps > 0 else { throw NNError.invalidArgument(op: op, detail: "ε = \(eps) must be > 0") }
        }
    }
}

/// Weight penalties folded into an optimiser update: the gradient used is
/// g + l2·w + l1·sign(w). With the course's cost J + λ/(2m)·Σ‖W‖², pass `l2 = λ/m`;
/// with J + λ/m·Σ|w|, pass `l1 = λ/m`. Biases, γ and β get `.none`.
public struct WeightPenalty: Sendable, Equatable {
    public var l2: Float
    public var l1: Float

    public init(l2: Float = 0, l1: Float = 0) {
        self.l2 = l2
        self.l1 = l1
    }

    public static let none = WeightPenalty()
}

/// A compute backend: it owns device memory and runs a fixed set of ops on it.
///
/// The training stack sees only this protocol. Ops write into caller-allocated tensors
/// (`into:`, `output:`), never allocate behind the caller's back, and may run asynchronously:
/// results are guaranteed visible after ``download(_:)`` or ``MemoryOps/synchronize()``.
///
/// The ops come in families, one protocol and one file each (`Backend+Memory.swift`,
/// `Backend+Algebra.swift`, `Backend+Elementwise.swift`, `Backend+BatchNorm.swift`,
/// `Backend+ClassifierHeads.swift`, `Backend+Dropout.swift`, `Backend+Optimizers.swift`).
/// A backend implements the `unchecked…` hooks of every family; callers use the entry points of
/// the same name without the prefix (`gemm(…)`, `softmax(…)`, …), which validate the operands with
/// ``OpCheck`` once and then call the hook. So wrong shapes, empty tensors, tensors of another
/// backend and sizes beyond 32-bit indexing are the same thrown errors on every backend, and a
/// hook may assume valid operands (checks that follow from its own implementation, such as a
/// padded size still fitting Int32, stay in the hook).
///
/// Conventions: Float32, row-major, samples as rows (batch × features); vectors are 1×n.
/// Label tensors hold class indices as exact Float values (0, 1, …, C−1).
///
/// To add a backend, conform to this protocol, register it with `BackendRegistry` (NNBackends) and
/// run the `NNConformance` suite on it from your own tests (see the README, "Writing a backend").
public protocol Backend: MemoryOps, AlgebraOps, ElementwiseOps, BatchNormOps, ClassifierHeadOps, DropoutOps, OptimizerOps {
    /// Short identifier, also every tensor's `storage.backendName`: "native", "opencl", …
    var name: String { get }
    /// The device the backend runs on, for logs and benchmark tables.
    var deviceDescription: String { get }
    var precision: Precision { get }
}

extension Backend {
    /// A tensor holding `values`.
    public func makeTensor(_ values: [Float], shape: Shape) throws -> Tensor {
        guard values.count == shape.count else {
            throw NNError.shapeMismatch(op: "makeTensor", detail: "\(values.count) values for shape \(shape)")
        }
        let t = try makeTensor(shape)
        try upload(values, to: t)
        return t
    }

    /// A tensor holding `values` at double precision (float32 backends round).
    public func makeTensor(_ values: [Double], shape: Shape) throws -> Tensor {
        guard values.count == shape.count else {
            throw NNError.shapeMismatch(op: "makeTensor", detail: "\(values.count) values for shape \(shape)")
        }
        let t = try makeTensor(shape)
        try upload(values, to: t)
        return t
    }

    /// Reads a 1×1 tensor (a loss, a penalty).
    public func scalar(_ tensor: Tensor) throws -> Float {
        guard tensor.count == 1 else {
            throw NNError.shapeMismatch(op: "scalar", detail: "expected a 1×1 tensor, got \(tensor.shape)")
        }
        return try download(tensor)[0]
    }
}
