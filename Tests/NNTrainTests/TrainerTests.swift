import NNCore
import NNTrain
import XCTest

/// Trainer behaviour: batching edge cases, early stopping, callbacks, limits, the binary head.
final class TrainerTests: XCTestCase {
    private func network(_ spec: NetworkSpec, seed: UInt64 = 1) throws -> Network {
        try Network(spec: spec, backend: TestSupport.native(), seed: seed)
    }

    func testBatchSizeOneAndWholeSetAndShuffleOff() throws {
        let data = try TestSupport.synthetic(count: 30, width: 4, classes: 3, seed: 6)
        let spec = try NetworkSpec.mlp(inputWidth: 4, hidden: [6], classes: 3, batchNorm: false)
        for batchSize in [1, 30, 1000] {
            var config = TrainingConfig()
            config.epochs = 2
            config.batchSize = batchSize
            config.shuffle = batchSize != 1
            config.optimizer = .momentum()
            config.learningRate = 0.05
            let trainer = try Trainer(network: try network(spec), config: config)
            var progress: [BatchProgress] = []
            trainer.onProgress = { progress.append($0) }
            let report = try trainer.fit(train: data)
            let batches = (30 + min(batchSize, 30) - 1) / min(batchSize, 30)
            XCTAssertEqual(report.globalSteps, 2 * batches, "batch size \(batchSize)")
            XCTAssertEqual(report.epochs.map(\.samples), [30, 30])
            XCTAssertEqual(progress.last?.batchesDone, batches)
            XCTAssertTrue(report.epochs.allSatisfy { $0.trainLoss.isFinite && $0.trainAccuracy >= 0 && $0.trainAccuracy <= 1 })
        }
    }

    func testTrainingAccuracyAccumulatedOnDeviceMatchesHostCount() throws {
        // One epoch with SGD at rate 0: the weights never change, so the epoch's training accuracy
        // must equal the evaluation accuracy (no batch norm or dropout to differ between modes).
        let data = try TestSupport.synthetic(count: 50, width: 4, classes: 3, seed: 6)
        let net = try network(try .mlp(inputWidth: 4, hidden: [6], classes: 3, batchNorm: false))
        var config = TrainingConfig()
        config.epochs = 1
        config.batchSize = 16
        config.optimizer = .sgd
        config.learningRate = 0
        let report = try Trainer(network: net, config: config).fit(train: data)
        let predicted = try net.predictClasses(data)
        let correct = zip(predicted, data.labels).filter { $0 == $1 }.count
        XCTAssertEqual(report.epochs[0].trainAccuracy, Double(correct) / 50, accuracy: 1e-12)
        XCTAssertEqual(report.train?.accuracy ?? -1, Double(correct) / 50, accuracy: 1e-12)
        XCTAssertEqual(report.epochs[0].trainLoss, report.train?.loss ?? -1, accuracy: 1e-5)
    }

    func testSigmoidHeadLearnsABinaryProblem() throws {
        let data = try TestSupport.synthetic(count: 200, width: 5, classes: 2, seed: 8)
        let (train, dev) = try data.split(devCount: 50, seed: 1)
        let net = try network(try .mlp(inputWidth: 5, hidden: [], classes: 2, batchNorm: false, head: .sigmoid))
        var config = TrainingConfig()
        config.epochs = 30
        config.batchSize = 32
        config.learningRate = 0.05
        let report = try Trainer(network: net, config: config).fit(train: train, dev: dev)
        // The classes are linearly separable by construction, so logistic regression gets most right.
        XCTAssertGreaterThan(report.dev?.accuracy ?? 0, 0.9)
        XCTAssertNotNil(report.diagnosis)
        let probabilities = try net.predictProbabilities(dev)
        XCTAssertEqual(probabilities.count, 100)
        XCTAssertEqual(probabilities[0] + probabilities[1], 1, accuracy: 1e-6)
    }

    func testEarlyStoppingRestoresTheBestEpoch() throws {
        // A tiny training set and a big network overfit: dev loss rises after a few epochs.
        let data = try TestSupport.synthetic(count: 160, width: 8, classes: 4, seed: 9)
        let (train, dev) = try data.split(devCount: 120, seed: 2)
        let net = try network(try .mlp(inputWidth: 8, hidden: [64, 64], classes: 4, batchNorm: false))
        var config = TrainingConfig()
        config.epochs = 60
        config.batchSize = 8
        config.learningRate = 1e-2
        config.earlyStopping = EarlyStopping(metric: .devLoss, patience: 3)
        var checkpoints: [Int: [NamedTensor]] = [:]
        let trainer = try Trainer(network: net, config: config)
        trainer.onEpoch = { metrics in checkpoints[metrics.epoch] = try net.namedTensors() }
        let report = try trainer.fit(train: train, dev: dev)
        XCTAssertTrue(report.stoppedEarly, "dev loss should stop improving well before 60 epochs")
        let best = try XCTUnwrap(report.bestEpoch)
        XCTAssertEqual(report.epochs.count, best + 3, "stops after `patience` epochs without improvement")
        let bestLoss = report.epochs.compactMap(\.devLoss).min()
        XCTAssertEqual(report.epochs[best - 1].devLoss, bestLoss)
        XCTAssertEqual(try net.namedTensors(), checkpoints[best], "the best epoch's weights are restored")
        XCTAssertEqual(report.dev?.loss ?? 0, bestLoss ?? 1, accuracy: 1e-9)
    }

    func testMaxStepsStopsMidEpoch() throws {
        let data = try TestSupport.synthetic(count: 100, width: 4, classes: 3, seed: 6)
        var config = TrainingConfig()
        config.epochs = 5
        config.batchSize = 10
        config.maxSteps = 13
        let trainer = try Trainer(network: try network(try .mlp(inputWidth: 4, hidden: [6], classes: 3)), config: config)
        let report = try trainer.fit(train: data)
        XCTAssertEqual(report.globalSteps, 13)
        XCTAssertEqual(report.epochs.map(\.isComplete), [true, false])
        XCTAssertEqual(report.epochs.last?.samples, 30)
        XCTAssertEqual(trainer.state.epoch, 1)
    }

    func testRegularisedCostIncludesThePenalty() throws {
        let data = try TestSupport.synthetic(count: 40, width: 4, classes: 3, seed: 6)
        var config = TrainingConfig()
        config.epochs = 1
        config.regularization = try Regularization(l2: 4, l1: 2)
        let net = try network(try .mlp(inputWidth: 4, hidden: [6], classes: 3))
        let report = try Trainer(network: net, config: config).fit(train: data)
        // Recompute λ₂/(2m)·Σw² + λ₁/m·Σ|w| on the host over dense weights only.
        var squares = 0.0, absolutes = 0.0
        for t in try net.namedTensors() where t.shape.count == 2 {  // dense weights are the only matrices
            for w in t.values { squares += Double(w * w); absolutes += Double(abs(w)) }
        }
        let expected = 4 / (2 * 40) * squares + 2 / 40 * absolutes
        let epoch = report.epochs[0]
        XCTAssertEqual(epoch.trainCost - epoch.trainLoss, expected, accuracy: 1e-5 * expected)
    }
}
