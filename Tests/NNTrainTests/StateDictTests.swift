import NNCore
import NNTrain
import XCTest

/// Parameters are exposed under PyTorch `nn.Sequential` state-dict names and layouts.
final class StateDictTests: XCTestCase {
    func testNamesShapesAndDTypesMatchPyTorch() throws {
        let spec = try NetworkSpec.mlp(inputWidth: 7, hidden: [5, 4], classes: 3, batchNorm: true, keepProbability: 0.9)
        // Sequential: 0 Linear(no bias) 1 BN 2 ReLU 3 Dropout 4 Linear 5 BN 6 ReLU 7 Dropout 8 Linear.
        let network = try Network(spec: spec, backend: TestSupport.native(), seed: 1)
        let tensors = try network.namedTensors()
        XCTAssertEqual(tensors.map(\.name), [
            "0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
            "4.weight", "5.weight", "5.bias", "5.running_mean", "5.running_var", "5.num_batches_tracked",
            "8.weight", "8.bias",
        ])
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
        XCTAssertEqual(byName["0.weight"]?.shape, [5, 7], "Linear weight is out × in")
        XCTAssertEqual(byName["8.weight"]?.shape, [3, 4])
        XCTAssertEqual(byName["8.bias"]?.shape, [3])
        XCTAssertEqual(byName["1.running_var"]?.values, [1, 1, 1, 1, 1])
        XCTAssertEqual(byName["1.num_batches_tracked"]?.dtype, .int64)
        XCTAssertEqual(byName["1.num_batches_tracked"]?.shape, [])
        let module = try XCTUnwrap(spec.pytorchSource)
        XCTAssertTrue(module.contains("nn.Linear(7, 5, bias=False)"), module)
        XCTAssertTrue(module.contains("nn.BatchNorm1d(5, eps=1e-05, momentum=0.1)"), module)
        XCTAssertTrue(module.contains("nn.Dropout(p=0.1)"), module)
    }

    /// Weights follow He initialisation: variance 2/n, mean 0 (checked statistically over 64×200
    /// draws: the sample variance's standard error is √(2/N)·σ² ≈ 1.1 % of σ², so 5 % is > 4σ).
    func testHeInitialisationVariance() throws {
        let spec = try NetworkSpec(inputWidth: 200, layers: [.dense(units: 64, initializer: .he)], classes: 64)
        let w = try XCTUnwrap(try Network(spec: spec, backend: TestSupport.native(), seed: 3).namedTensors().first).values
        let mean = w.reduce(0, +) / Float(w.count)
        let variance = w.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(w.count)
        XCTAssertEqual(variance, 2 / 200, accuracy: 0.05 * 2 / 200)
        XCTAssertEqual(mean, 0, accuracy: 4 * (2 / 200 / Float(w.count)).squareRoot())
    }

    func testRoundTripGivesIdenticalPredictions() throws {
        let backend = TestSupport.native()
        let data = try TestSupport.synthetic(count: 90, width: 6, classes: 3, seed: 2)
        let spec = try NetworkSpec.mlp(inputWidth: 6, hidden: [8], classes: 3, batchNorm: true)
        let trained = try Network(spec: spec, backend: backend, seed: 1)
        var config = TrainingConfig()
        config.epochs = 2
        config.batchSize = 16
        try Trainer(network: trained, config: config).fit(train: data)
        let copy = try Network(spec: spec, backend: backend, seed: 77)
        copy.normalizer = trained.normalizer
        XCTAssertNotEqual(try copy.predictProbabilities(data), try trained.predictProbabilities(data))
        try copy.load(namedTensors: try trained.namedTensors())
        XCTAssertEqual(try copy.predictProbabilities(data), try trained.predictProbabilities(data))
        XCTAssertEqual(try copy.namedTensors(), try trained.namedTensors())
        let counts = try copy.namedTensors().first { $0.name == "1.num_batches_tracked" }
        XCTAssertEqual(counts?.integers, [12], "2 epochs × 6 batches of 16 out of 90")
    }

    func testSpecIsCodable() throws {
        let spec = try NetworkSpec.mlp(inputWidth: 6, hidden: [8, 4], classes: 2, activation: .tanh, batchNorm: true,
                                       keepProbability: 0.5, head: .sigmoid)
        let decoded = try JSONDecoder().decode(NetworkSpec.self, from: JSONEncoder().encode(spec))
        XCTAssertEqual(decoded, spec)
        let normalizer = try InputNormalizer(mean: [1, 2], standardDeviation: [3, 4])
        XCTAssertEqual(try JSONDecoder().decode(InputNormalizer.self, from: JSONEncoder().encode(normalizer)), normalizer)
    }
}
