import NNCore
import NNNative
import NNTrain
import XCTest

/// Same seed, same kernel variant: the same bits, run after run, on every variant this CPU runs
/// (the variant is fixed per backend, so a run cannot drift between code paths). Variants whose
/// arithmetic is the same (``NativeBackend/arithmeticDescription``) train to the same bits too.
final class KernelVariantReproducibilityTests: XCTestCase {
    func testEachVariantTrainsBitIdenticallyRunToRun() throws {
        // Widths that take every GEMM path: 40-wide hidden layers (tiles with edges), 10 classes (narrow).
        let (train, dev) = try TestSupport.synthetic(count: 400, width: 40, classes: 10, seed: 3).split(devCount: 80, seed: 1)
        var config = TrainingConfig()
        config.epochs = 1
        config.batchSize = 100
        config.learningRate = 5e-3
        config.optimizer = .adam
        config.seed = 4
        config.evaluateTrainingSetAtEnd = false
        var byArithmetic: [String: (KernelVariant, [NamedTensor])] = [:]
        for variant in KernelVariant.supported {
            func run() throws -> [NamedTensor] {
                let spec = try NetworkSpec.mlp(inputWidth: 40, hidden: [70, 40], classes: 10, batchNorm: true)
                let backend = try NativeBackend(precision: .float32, threads: 2, kernels: variant)
                let network = try Network(spec: spec, backend: backend, seed: 6)
                try Trainer(network: network, config: config).fit(train: train, dev: dev)
                return try network.namedTensors()
            }
            let first = try run()
            XCTAssertEqual(first, try run(), "\(variant): same seed, different weights")
            let arithmetic = try NativeBackend(precision: .float32, threads: 2, kernels: variant).arithmeticDescription
            if let (other, weights) = byArithmetic[arithmetic] {
                XCTAssertEqual(first, weights, "\(variant) and \(other) share arithmetic (\(arithmetic)) but train differently")
            } else {
                byArithmetic[arithmetic] = (variant, first)
            }
        }
    }
}
