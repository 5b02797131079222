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
/// results are guaranteed visible after ``download(_:)`` or ``synchronize()``. Every op validates
/// its operands with ``OpCheck`` before touching memory, so wrong shapes, empty tensors, tensors
/// of another backend and sizes beyond 32-bit indexing are thrown errors on every backend alike.
///
/// Conventions: Float32, row-major, samples as rows (batch × features); vectors are 1×n.
/// Label tensors hold class indices as exact Float values (0, 1, …, C−1).
public protocol Backend: AnyObject, Sendable {
    /// Short identifier: "native" or "opencl".
    var name: String { get }
    /// The device the backend runs on, for logs and benchmark tables.
    var deviceDescription: String { get }
    var precision: Precision { get }

    // MARK: Memory

    /// A new tensor, every element zero.
    func makeTensor(_ shape: Shape) throws -> Tensor
    func upload(_ values: [Float], to tensor: Tensor) throws
    func download(_ tensor: Tensor) throws -> [Float]
    /// Double-precision transfer; a float32 backend rounds on upload and widens on download.
    func upload(_ values: [Double], to tensor: Tensor) throws
    func downloadDouble(_ tensor: Tensor) throws -> [Double]
    /// Blocks until every op issued so far has finished.
    func synchronize() throws

    // MARK: Dense algebra

    /// C ← α·op(A)·op(B) + β·C, where op(X) is X or Xᵀ. With op(A) m×k and op(B) k×n, C is m×n.
    /// When β is 0, C's previous contents are ignored (NaNs in it do not leak through).
    func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
              into c: Tensor, alpha: Float, beta: Float) throws
    /// x[i, j] += bias[j] for every row i. `bias` is 1×n for x of m×n.
    func addRowVector(_ bias: Tensor, to x: Tensor) throws
    /// out[j] ← α·Σᵢ x[i, j] + β·out[j]. `out` is 1×n for x of m×n. Used for db and dβ.
    func columnSums(_ x: Tensor, into out: Tensor, alpha: Float, beta: Float) throws
    /// out ← Σ f(x) over every element (1×1 output), or out += … when `accumulate`.
    func reduce(_ reduction: Reduction, _ x: Tensor, into out: Tensor, accumulate: Bool) throws

    // MARK: Element-wise

    func fill(_ x: Tensor, with value: Float) throws
    /// to ← from (equal element counts).
    func copy(_ from: Tensor, to: Tensor) throws
    /// x ← α·x
    func scale(_ x: Tensor, by alpha: Float) throws
    /// y ← α·x + y
    func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws
    /// out ← a ⊙ b (out may alias a or b).
    func multiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws
    /// y ← f(x) (y may alias x).
    func activationForward(_ activation: Activation, _ x: Tensor, into y: Tensor) throws
    /// dx ← dy ⊙ f′, with f′ computed from the forward output y (dx may alias dy).
    func activationBackward(_ activation: Activation, output y: Tensor, gradOutput dy: Tensor, into dx: Tensor) throws

    // MARK: Batch normalisation (per feature = per column)

    /// Training mode: per column, the batch mean μ and biased variance σ² (two-pass, so batches of
    /// 10⁵ rows stay accurate); y = γ·(x − μ)/√(σ² + ε) + β. Saves μ and 1/√(σ² + ε) for backward,
    /// and updates the running statistics with the course's exponentially weighted average
    /// r ← β·r + (1 − β)·θ using the *unbiased* variance σ²·m/(m − 1) (σ² itself when m = 1), as
    /// PyTorch's BatchNorm1d does. Note `averagingBeta` = 1 − PyTorch's `momentum` (0.9 ↔ 0.1).
    func batchNormForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output y: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws
    /// Evaluation mode: y = γ·(x − r_μ)/√(r_σ² + ε) + β, each row independent of the others.
    func batchNormForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output y: Tensor) throws
    /// From saved μ and 1/σ: dβ = Σ dy, dγ = Σ dy·x̂, and
    /// dx = (γ/σ)·(dy − dβ/m − x̂·dγ/m). dγ and dβ are overwritten.
    func batchNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws

    // MARK: Classifier heads

    /// Row-wise softmax, subtracting each row's max first. y may alias x.
    func softmax(_ x: Tensor, into y: Tensor) throws
    /// Fused softmax + cross-entropy over m×C logits with m×1 integer labels:
    /// loss (1×1) ← −(1/m)·Σ log ŷ[i, label_i], computed as log-sum-exp so it stays finite;
    /// gradient (m×C) ← (ŷ − onehot(y))/m. Labels outside 0..<C give a NaN loss.
    func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws
    /// Fused sigmoid + binary cross-entropy over m×1 logits with 0/1 labels:
    /// loss ← (1/m)·Σ [softplus(z) − y·z], gradient ← (σ(z) − y)/m.
    func sigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws
    /// out[i] ← index of the largest value in row i (first on ties), as a Float. `out` is m×1.
    func argmaxRows(_ x: Tensor, into out: Tensor) throws

    // MARK: Dropout

    /// Inverted dropout: mask[i] ← (u_i < keep) ? 1/keep : 0 with u_i = ``Philox/uniform(seed:offset:index:)``,
    /// and y ← x ⊙ mask. Every backend draws the identical mask from the same seed and offset.
    /// Backward is `multiply(dy, mask, into: dx)`.
    func dropoutForward(_ x: Tensor, keepProbability: Float, seed: UInt64, offset: UInt64,
                        mask: Tensor, output y: Tensor) throws

    // MARK: Optimisers

    /// One fused update of `parameter` from `gradient`, the rule's state tensors, and a penalty.
    func update(_ rule: UpdateRule, penalty: WeightPenalty, parameter: Tensor, gradient: Tensor, state: [Tensor]) throws
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
