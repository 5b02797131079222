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
/// so layers keep one saved tensor instead of two.
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

/// One optimiser rule, applied by a single fused kernel per parameter tensor.
///
/// The course's forms are used throughout: momentum keeps v = β·v + (1 − β)·g (an exponentially
/// weighted average, not PyTorch's v = μ·v + g), so the learning rate means the same thing for SGD
/// and momentum. RMSprop divides by √s + ε. Adam bias-corrects both moments with the step number
/// `t` (counted from 1).
public enum UpdateRule: Sendable, Equatable {
    /// w ← w − α·g
    case sgd(learningRate: Float)
    /// v ← β·v + (1−β)·g; w ← w − α·v. State: [v].
    case momentum(learningRate: Float, beta: Float)
    /// s ← β·s + (1−β)·g²; w ← w − α·g / (√s + ε). State: [s].
    case rmsprop(learningRate: Float, beta: Float, epsilon: Float)
    /// m ← β₁·m + (1−β₁)·g; v ← β₂·v + (1−β₂)·g²;
    /// w ← w − α·(m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε). State: [m, v].
    case adam(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, step: Int)

    /// How many state tensors (each shaped like the parameter) the rule keeps.
    public var stateCount: Int {
        switch self {
        case .sgd: return 0
        case .momentum, .rmsprop: return 1
        case .adam: return 2
        }
    }

    public var learningRate: Float {
        switch self {
        case let .sgd(lr), let .momentum(lr, _), let .rmsprop(lr, _, _), let .adam(lr, _, _, _, _):
            return lr
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
