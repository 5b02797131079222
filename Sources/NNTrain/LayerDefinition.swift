import NNCore

/// What a layer is, apart from any backend: its hyperparameters, the tensors it owns, its PyTorch
/// equivalent, and how to build it. Saved in every checkpoint (inside ``NetworkSpec``) under its ``kind``.
///
/// The built-in layers are ``DenseDefinition``, ``BatchNormDefinition``, ``ActivationDefinition`` and
/// ``DropoutDefinition``. A new layer is a definition plus a ``Layer`` class; register the definition
/// with ``LayerSpec/register(_:)`` so checkpoints holding it can be read back. See the DocC article
/// "Writing a layer".
public protocol LayerDefinition: Sendable, Codable, Equatable {
    /// The tag checkpoints store the layer under ("dense", "batchNorm"); unique among registered layers.
    static var kind: String { get }
    /// A short name for reports and errors ("dense", "relu"); defaults to ``kind``.
    var displayName: String { get }
    /// Checks the hyperparameters for a layer fed `inputWidth` features and returns its output width.
    /// Throws `NNError.invalidArgument(op:detail:)` naming the bad value and its valid range;
    /// ``NetworkSpec`` adds the layer's position.
    func outputWidth(inputWidth: Int) throws -> Int
    /// The tensors the layer owns, in state-dict order, named relative to the layer ("weight",
    /// "running_mean") with their PyTorch shapes. Checkpoints are checked against this before anything
    /// is allocated. Defaults to none.
    func state(at position: LayerPosition) -> [LayerStateEntry]
    /// The equivalent PyTorch module as Python source ("nn.Linear(784, 512)"), so a checkpoint loads into
    /// `torch.nn.Sequential`; nil when PyTorch has none, and export then says so. Defaults to nil.
    func pytorchModule(at position: LayerPosition) -> String?
    /// Whether this layer subtracts each feature's batch mean, which makes a bias just before it
    /// redundant (a dense layer then drops its bias, as batch norm's β takes its role). Defaults to false.
    var cancelsPrecedingBias: Bool { get }
    /// Whether the layer uses statistics of the whole batch in training (so evaluation differs). Defaults to false.
    var usesBatchStatistics: Bool { get }
    /// The same layer for a gradient check: deterministic (dropout keeps everything). Defaults to `self`.
    var forGradientCheck: Self { get }
    /// Builds the layer on `builder`'s backend, allocating every ``state(at:)`` entry through `builder`.
    func makeLayer(at position: LayerPosition, builder: LayerBuilder) throws -> any Layer
}

extension LayerDefinition {
    public var displayName: String { Self.kind }
    public func state(at position: LayerPosition) -> [LayerStateEntry] { [] }
    public func pytorchModule(at position: LayerPosition) -> String? { nil }
    public var cancelsPrecedingBias: Bool { false }
    public var usesBatchStatistics: Bool { false }
    public var forGradientCheck: Self { self }
}

/// Where a layer sits in its network.
public struct LayerPosition: Sendable {
    /// Index in ``NetworkSpec/layers``, which is the index in the equivalent `nn.Sequential`.
    public let index: Int
    public let inputWidth: Int
    public let outputWidth: Int
    /// The layer after this one; nil for the output layer.
    public let next: LayerSpec?
}

/// One tensor a layer owns, as its definition declares it.
public struct LayerStateEntry: Sendable, Equatable {
    public enum Role: Sendable, Equatable {
        /// Trained by the optimiser; `penalized` weights get the L1/L2 penalty (dense weights do,
        /// biases, γ and β do not).
        case parameter(penalized: Bool)
        /// A float tensor saved with the model but not trained; `nonNegative` refuses negative loads (a variance).
        case buffer(nonNegative: Bool)
        /// An int64 scalar saved with the model.
        case counter
    }

    /// Name relative to the layer: the state dict holds "\(index).\(name)".
    public let name: String
    /// PyTorch's shape (`[out, in]` for a Linear weight, `[n]` for vectors, `[]` for a counter).
    public let shape: [Int]
    public let role: Role

    public init(_ name: String, shape: [Int], role: Role) {
        self.name = name
        self.shape = shape
        self.role = role
    }
}

/// Allocates a layer's tensors on the backend under the layer's state-dict names, and hands out the
/// network's seeded draws so initial weights depend only on the seed.
public final class LayerBuilder {
    public let backend: any Backend
    public let index: Int
    private var generator: SeededGenerator

    init(backend: any Backend, index: Int, generator: SeededGenerator) {
        self.backend = backend
        self.index = index
        self.generator = generator
    }

    /// The generator after the layer's draws, for the next layer.
    var generatorAfterDraws: SeededGenerator { generator }

    /// `count` draws from N(0, σ²), in Double so a float64 gradient check starts where float32 training does.
    public func gaussian(count: Int, standardDeviation: Double) -> [Double] {
        (0..<count).map { _ in generator.nextGaussian() * standardDeviation }
    }

    /// A trainable tensor with its gradient. `shape` is the device layout (rows × columns); `initial`
    /// holds its first values (zeros when nil).
    public func parameter(_ name: String, shape: Shape, exportShape: [Int], initial: [Double]? = nil,
                          penalized: Bool = false) throws -> Parameter {
        let value = try initial.map { try backend.makeTensor($0, shape: shape) } ?? backend.makeTensor(shape)
        return Parameter(name: "\(index).\(name)", value: value, gradient: try backend.makeTensor(shape),
                         isPenalized: penalized, exportShape: exportShape, layerIndex: index)
    }

    /// A saved, untrained tensor (a running statistic); `exportShape` defaults to `[shape.count]`.
    public func buffer(_ name: String, shape: Shape, exportShape: [Int]? = nil, initial: [Double]? = nil,
                       nonNegative: Bool = false) throws -> LayerBuffer {
        let tensor = try initial.map { try backend.makeTensor($0, shape: shape) } ?? backend.makeTensor(shape)
        return LayerBuffer(name: "\(index).\(name)", tensor: tensor, exportShape: exportShape ?? [shape.count],
                           isNonNegative: nonNegative)
    }

    /// A saved int64 count, starting at 0.
    public func counter(_ name: String) -> LayerCounter {
        LayerCounter(name: "\(index).\(name)")
    }
}
