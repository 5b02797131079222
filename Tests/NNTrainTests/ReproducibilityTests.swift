import NNCore
import NNNative
import NNTrain
import XCTest

/// Same seed, same backend: bit-identical results; a run stopped and resumed from its explicit
/// state continues bit for bit.
final class ReproducibilityTests: XCTestCase {
    private func config(epochs: Int, maxSteps: Int? = nil) throws -> TrainingConfig {
        var c = TrainingConfig()
        c.epochs = epochs
        c.batchSize = 24
        c.learningRate = 5e-3
        c.regularization = try Regularization(l2: 0.01)
        c.earlyStopping = EarlyStopping(metric: .devAccuracy, patience: 5)
        c.maxSteps = maxSteps
        c.seed = 9
        c.evaluateTrainingSetAtEnd = false
        return c
    }

    private func spec() throws -> NetworkSpec {
        try .mlp(inputWidth: 6, hidden: [10, 8], classes: 3, batchNorm: true, keepProbability: 0.8)
    }

    func testSameSeedGivesBitIdenticalWeights() throws {
        let (train, dev) = try TestSupport.synthetic(count: 150, width: 6, classes: 3, seed: 4).split(devCount: 30, seed: 1)
        func run() throws -> [NamedTensor] {
            let network = try Network(spec: try spec(), backend: TestSupport.native(), seed: 12)
            try Trainer(network: network, config: try config(epochs: 3)).fit(train: train, dev: dev)
            return try network.namedTensors()
        }
        let first = try run()
        XCTAssertEqual(first, try run())
        // A different seed must change the outcome, or the comparison above proves nothing.
        let other = try Network(spec: try spec(), backend: TestSupport.native(), seed: 13)
        try Trainer(network: other, config: try config(epochs: 3)).fit(train: train, dev: dev)
        XCTAssertNotEqual(first, try other.namedTensors())
    }

    /// Native results do not depend on the thread count: batches large enough that every op splits
    /// across threads (batch norm statistics, column sums, the loss sum, GEMM) give the same bits on
    /// 1, 2 and 3 threads, so a run resumed with another `NN_NATIVE_THREADS` continues exactly.
    /// float64 is the sharp case: float32 terms add exactly in a Double accumulator in almost any
    /// order, float64 terms do not, so only a fixed order of additions passes it.
    func testNativeResultsDoNotDependOnTheThreadCount() throws {
        let (train, dev) = try TestSupport.synthetic(count: 700, width: 32, classes: 5, seed: 8).split(devCount: 100, seed: 1)
        var config = try config(epochs: 1)
        config.batchSize = 300
        for precision in [Precision.float32, .float64] {
            func run(threads: Int) throws -> [NamedTensor] {
                let spec = try NetworkSpec.mlp(inputWidth: 32, hidden: [256], classes: 5, batchNorm: true, keepProbability: 0.9)
                let network = try Network(spec: spec, backend: NativeBackend(precision: precision, threads: threads), seed: 5)
                try Trainer(network: network, config: config).fit(train: train, dev: dev)
                return try network.namedTensors()
            }
            let single = try run(threads: 1)
            XCTAssertEqual(single, try run(threads: 2), "\(precision)")
            XCTAssertEqual(single, try run(threads: 3), "\(precision)")
        }
    }

    func testResumeContinuesBitForBit() throws {
        let (train, dev) = try TestSupport.synthetic(count: 150, width: 6, classes: 3, seed: 4).split(devCount: 30, seed: 1)
        // Uninterrupted: 4 epochs (5 batches each, the last partial).
        let reference = try Network(spec: try spec(), backend: TestSupport.native(), seed: 12)
        let referenceTrainer = try Trainer(network: reference, config: try config(epochs: 4))
        try referenceTrainer.fit(train: train, dev: dev)

        // Interrupted mid-epoch 2 by maxSteps, saved through host values only, resumed in a fresh
        // network and trainer.
        let first = try Network(spec: try spec(), backend: TestSupport.native(), seed: 12)
        let firstTrainer = try Trainer(network: first, config: try config(epochs: 4, maxSteps: 8))
        try firstTrainer.fit(train: train, dev: dev)
        XCTAssertEqual(firstTrainer.state.globalStep, 8)
        XCTAssertEqual(firstTrainer.state.stepInEpoch, 3)
        let savedState = try JSONDecoder().decode(TrainingState.self, from: JSONEncoder().encode(firstTrainer.state))
        let savedModel = try first.namedTensors()
        let savedTensors = try firstTrainer.stateTensors()
        XCTAssertTrue(savedTensors.contains { $0.name == "optimizer.0.weight.m" })
        XCTAssertTrue(savedTensors.contains { $0.name == "best.1.running_var" })

        let resumed = try Network(spec: try spec(), backend: TestSupport.native(), seed: 99)
        resumed.normalizer = first.normalizer
        try resumed.load(namedTensors: savedModel)
        let resumedTrainer = try Trainer(network: resumed, config: try config(epochs: 4))
        try resumedTrainer.restore(state: savedState, tensors: savedTensors)
        try resumedTrainer.fit(train: train, dev: dev)

        XCTAssertEqual(try resumed.namedTensors(), try reference.namedTensors())
        XCTAssertEqual(resumedTrainer.state.history, referenceTrainer.state.history.map { m in
            var m = m
            m.seconds = resumedTrainer.state.history[m.epoch - 1].seconds
            m.samplesPerSecond = resumedTrainer.state.history[m.epoch - 1].samplesPerSecond
            return m
        })
        XCTAssertEqual(try resumedTrainer.stateTensors(), try referenceTrainer.stateTensors())
    }
}
