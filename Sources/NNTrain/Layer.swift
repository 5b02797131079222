import NNCore
import NNDistributed

/// A layer of a sequential network as it runs: its forward and backward passes on the backend, and
/// the tensors it owns.
///
/// A layer is built by its ``LayerDefinition`` (``LayerDefinition/makeLayer(at:builder:)``), which
/// allocates its parameters, buffers and counters through a ``LayerBuilder`` under the names the
/// definition declares. ``Network`` needs nothing else to train it, evaluate it, checkpoint it and
/// snapshot it for early stopping, so a new layer is one definition and one class.
///
/// Forward saves what backward needs (references to its input or output, never copies), so a
/// backward must follow the training-mode forward it belongs to.
public protocol Layer: AnyObject {
    /// Trainable tensors, in the order of the definition's ``LayerStateEntry/Role/parameter(penalized:)`` entries.
    var parameters: [Parameter] { get }
    /// Non-trainable tensors saved with the model (batch norm's running statistics).
    var buffers: [LayerBuffer] { get }
    /// Integer state saved with the model (batch norm's `num_batches_tracked`).
    var counters: [LayerCounter] { get }
    /// Returns the output; it stays valid until the next forward with the same batch size.
    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor
    /// Fills parameter gradients from dL/dy and returns dL/dx, or nil when not `needsInputGradient`.
    /// May overwrite `dy`.
    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor?
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var buffers: [LayerBuffer] { [] }
    public var counters: [LayerCounter] { [] }
}

/// A non-trainable tensor a layer keeps across batches and saves with the model.
public final class LayerBuffer: Sendable {
    /// State-dict name, e.g. "1.running_var".
    public let name: String
    public let tensor: Tensor
    /// The shape PyTorch gives it (`[n]` for a per-feature statistic).
    public let exportShape: [Int]
    /// Whether a loaded value must be ≥ 0 (a variance); a negative or NaN one is refused, naming the element.
    public let isNonNegative: Bool

    init(name: String, tensor: Tensor, exportShape: [Int], isNonNegative: Bool) {
        self.name = name
        self.tensor = tensor
        self.exportShape = exportShape
        self.isNonNegative = isNonNegative
    }
}

/// A 64-bit count a layer keeps and saves with the model (PyTorch stores such counts as int64 scalars).
public final class LayerCounter: @unchecked Sendable {
    /// State-dict name, e.g. "1.num_batches_tracked".
    public let name: String
    /// Mutated only by the layer's forward and by loading, which one task drives at a time
    /// (``Network`` is not thread-safe), hence `@unchecked`.
    public var value: Int64

    init(name: String, value: Int64 = 0) {
        self.name = name
        self.value = value
    }
}

/// What a forward pass needs to know beyond its input.
public final class ForwardContext {
    /// Training mode: batch statistics, dropout masks, and saving what backward needs.
    public let training: Bool
    let dropoutSeed: UInt64
    /// Philox counter offset; dropout layers advance it by the blocks the *global* batch draws.
    var dropoutOffset: UInt64
    /// Where this input's rows sit in the global batch: dropout draws by global element index, so a
    /// sample's mask does not depend on how many ranks share the batch.
    let shard: BatchShard
    /// Set when batch norm reduces its statistics over every rank's shard.
    let batchStatistics: (any Communicator)?

    init(training: Bool, dropoutSeed: UInt64, dropoutOffset: UInt64, shard: BatchShard,
         batchStatistics: (any Communicator)? = nil) {
        self.training = training
        self.dropoutSeed = dropoutSeed
        self.dropoutOffset = dropoutOffset
        self.shard = shard
        self.batchStatistics = batchStatistics
    }
}

extension NNError {
    /// The error of a backward pass with no training-mode forward to differentiate.
    public static func missingForward(layer index: Int, kind: String) -> NNError {
        .invalidArgument(op: "layer \(index) (\(kind)) backward",
                         detail: "no training-mode forward pass to differentiate; run forward in training mode first")
    }

    /// The error of a forward pass given the wrong number of features.
    public static func wrongInputWidth(layer index: Int, kind: String, expected: Int, got: Int) -> NNError {
        .shapeMismatch(op: "layer \(index) (\(kind))", detail: "expects \(expected) features per sample but got \(got)")
    }
}
