import NNCore
import NNTrain

/// Samples per second of complete training steps — forward, softmax cross-entropy, backward and
/// the Adam update of every parameter — of the Fashion-MNIST MLP: 784-512-256-10 with batch norm
/// and ReLU after each hidden Dense layer. It runs through NNTrain's own `Trainer.step`, so the
/// figure includes everything a real epoch pays per batch except the host-to-device copy: the batch
/// is already on the device, as the comparison with PyTorch's figures assumes.
///
/// Inputs are synthetic values in [−1, 1) (what normalised pixels look like) and labels are drawn
/// uniformly from the 10 classes: throughput does not depend on the values as long as they stay
/// finite and away from denormals.
enum TrainingSuite {
    static let defaultBatchSizes = [128, 512]
    static let inputWidth = 784
    static let hidden = [512, 256]
    static let classes = 10

    /// - Parameter hidden: the hidden widths; the default is the Fashion-MNIST MLP, `[4096, 4096]` the
    ///   wide MLP that `Benchmarks/gpu.sh` compares with PyTorch.
    static func workloads(batchSizes: [Int], hidden: [Int] = hidden) -> [Workload] {
        let widths = ([inputWidth] + hidden + [classes]).map(String.init).joined(separator: "-")
        return batchSizes.map { batch in
            Workload(suite: "train", name: "MLP \(widths) BN ReLU Adam, batch \(batch)",
                     model: "samples per second of forward + backward + Adam steps", unit: .samples,
                     workPerCall: Double(batch), ceiling: .none) { backend in
                let spec = try NetworkSpec.mlp(inputWidth: inputWidth, hidden: hidden, classes: classes,
                                               activation: .relu, batchNorm: true)
                let network = try Network(spec: spec, backend: backend, seed: 1)
                var config = TrainingConfig()
                config.batchSize = batch
                config.optimizer = .adam
                config.learningRate = 1e-3
                let trainer = try Trainer(network: network, config: config)
                let inputs = try backend.benchmarkTensor(Shape(batch, inputWidth), seed: 6)
                let labelValues = benchmarkValues(batch, seed: 7).map { Float(Int(($0 + 1) / 2 * Float(classes)) % classes) }
                let labels = try backend.makeTensor(labelValues, shape: Shape(batch, 1))
                return { try trainer.step(inputs: inputs, labels: labels) }
            }
        }
    }
}
