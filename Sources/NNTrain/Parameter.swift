import NNCore

/// A trainable tensor and its gradient, both on the backend, under its PyTorch state-dict name.
public final class Parameter: Sendable {
    /// State-dict name, e.g. "0.weight", "1.bias" (γ of a batch norm is "weight", β is "bias").
    public let name: String
    public let value: Tensor
    public let gradient: Tensor
    /// Whether L1/L2 penalties apply: true for dense weights; biases, γ and β are not penalised.
    public let isPenalized: Bool
    /// The shape PyTorch gives the tensor: `[out, in]` for a Linear weight, `[n]` for vectors.
    public let exportShape: [Int]
    /// Index of the owning layer in the network.
    public let layerIndex: Int

    init(name: String, value: Tensor, gradient: Tensor, isPenalized: Bool, exportShape: [Int], layerIndex: Int) {
        self.name = name
        self.value = value
        self.gradient = gradient
        self.isPenalized = isPenalized
        self.exportShape = exportShape
        self.layerIndex = layerIndex
    }
}

/// Buffers that depend on the batch size, allocated once per size and reused across steps.
///
/// A training run sees a handful of sizes (the batch and the last partial batch, the evaluation
/// batch and the partial ones of the dev and training sets), so six entries are kept; beyond
/// that the oldest is released.
struct BatchBufferCache<Buffers> {
    private var entries: [(rows: Int, buffers: Buffers)] = []
    private let capacity = 6

    mutating func buffers(rows: Int, make: () throws -> Buffers) rethrows -> Buffers {
        if let hit = entries.first(where: { $0.rows == rows }) { return hit.buffers }
        let fresh = try make()
        if entries.count == capacity { entries.removeFirst() }
        entries.append((rows, fresh))
        return fresh
    }

    mutating func removeAll() { entries.removeAll() }
}
