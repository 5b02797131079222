import NNCore

/// Which adjacent layers a ``Network`` runs as one fused step: a batch-norm layer directly followed
/// by a ReLU activation layer.
///
/// Run apart, the pair makes two extra passes over an m×n matrix in each direction: forward writes
/// batch norm's y and reads it back for the ReLU; backward writes the ReLU's masked gradient and
/// reads it back for batch norm. Fused, batch norm applies max(0, ·) as it stores y
/// (`Backend.batchNormForwardTraining(…, relu: true)`)
/// and masks dz by that output as it reads it
/// (`Backend.batchNormBackward(_:reluOutput:…)`),
/// and the activation layer is skipped in both directions. The layers, their state and the model's
/// checkpoints, export and PyTorch source stay exactly as they are: fusion is how the network runs
/// them, not what it is. Anything between the two (dropout, a custom layer) leaves them apart.
struct LayerFusion {
    /// For each layer index, the batch-norm layer there when the next layer is a ReLU it runs itself.
    private let batchNormBeforeReLU: [BatchNormLayer?]

    init(layers: [any Layer]) {
        batchNormBeforeReLU = layers.indices.map { i in
            guard let batchNorm = layers[i] as? BatchNormLayer, i + 1 < layers.count,
                  let activation = layers[i + 1] as? ActivationLayer, activation.activation == .relu else { return nil }
            return batchNorm
        }
    }

    /// The batch-norm layer at `index` when it absorbs the ReLU layer after it.
    func batchNormFusingReLU(at index: Int) -> BatchNormLayer? {
        batchNormBeforeReLU[index]
    }

    /// The indices of the batch-norm layers that run the ReLU after them.
    var batchNormIndices: [Int] {
        batchNormBeforeReLU.indices.filter { batchNormBeforeReLU[$0] != nil }
    }

    /// Whether the layer at `index` is a ReLU that the batch norm before it runs.
    func isAbsorbed(_ index: Int) -> Bool {
        index > 0 && batchNormBeforeReLU[index - 1] != nil
    }
}
