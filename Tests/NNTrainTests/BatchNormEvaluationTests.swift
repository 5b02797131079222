import NNCore
import NNTrain
import XCTest

/// In evaluation mode batch norm uses running statistics, so a sample's output does not depend on
/// the batch it is in.
final class BatchNormEvaluationTests: XCTestCase {
    func testOneSampleAloneMatchesItsRowInABatchOf512() throws {
        let backend = TestSupport.native()
        let data = try TestSupport.synthetic(count: 512, width: 12, classes: 4, seed: 11)
        let spec = try NetworkSpec.mlp(inputWidth: 12, hidden: [16, 8], classes: 4, batchNorm: true, keepProbability: 0.8)
        let network = try Network(spec: spec, backend: backend, seed: 2)
        var config = TrainingConfig()
        config.epochs = 2
        config.batchSize = 64
        config.evaluateTrainingSetAtEnd = false
        // Train briefly so running statistics move away from their initial 0 and 1.
        try Trainer(network: network, config: config).fit(train: data)
        XCTAssertEqual(network.mode, .evaluation, "fit leaves the network in evaluation mode")

        let batch = try network.predictProbabilities(data, batchSize: 512)
        for row in [0, 137, 511] {
            let alone = try network.predictProbabilities(try data.subset(rows: [row]), batchSize: 1)
            let inBatch = Array(batch[row * 4 ..< (row + 1) * 4])
            // Each row is computed independently in evaluation mode; only GEMM blocking may change
            // the summation order between m = 1 and m = 512, so allow a few Float32 ulps.
            for (a, b) in zip(alone, inBatch) { XCTAssertEqual(a, b, accuracy: 1e-6, "row \(row)") }
        }

        // In training mode the same sample alone would be normalised by its own batch statistics
        // (output β only), so the modes must differ: the switch is real.
        network.mode = .training
        let normalizer = try XCTUnwrap(network.normalizer)
        let normalized = try backend.makeTensor(normalizer.apply(Array(data.sample(0))), shape: Shape(1, 12))
        let trainingLogits = try backend.download(try network.forward(normalized))
        network.mode = .evaluation
        let evaluationLogits = try backend.download(try network.forward(normalized))
        XCTAssertNotEqual(trainingLogits, evaluationLogits)
    }
}
