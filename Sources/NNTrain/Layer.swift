import NNCore
import NNDistributed

/// A layer of a sequential network, running its forward and backward passes on the backend.
///
/// Forward saves what backward needs (references to its input or output, never copies), so a
/// backward must follow the training-mode forward it belongs to.
protocol Layer: AnyObject {
    var index: Int { get }
    var outputWidth: Int { get }
    var parameters: [Parameter] { get }
    /// Returns the output; it stays valid until the next forward with the same batch size.
    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor
    /// Fills parameter gradients from dL/dy and returns dL/dx, or nil when not `needsInputGradient`.
    /// May overwrite `dy`.
    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor?
    /// Parameters and buffers (running statistics) in PyTorch's names and layouts.
    func namedTensors() throws -> [NamedTensor]
    func load(_ table: inout NamedTensorTable) throws
}

/// What a forward pass needs to know beyond its input.
final class ForwardContext {
    let training: Bool
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

extension Layer {
    func missingForward(_ kind: String) -> NNError {
        NNError.invalidArgument(
            op: "layer \(index) (\(kind)) backward",
            detail: "no training-mode forward pass to differentiate; run forward in training mode first")
    }
}
