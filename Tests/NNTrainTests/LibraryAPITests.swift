import Foundation
import NNCore
import NNNative
@testable import NNTrain
import XCTest

/// The library surface a user meets first: predictions from arrays and features-only data, test
/// metrics in the report, the ready progress printer and the recipe shared with `nn train`.
final class LibraryAPITests: XCTestCase {
    private func smallNetwork(width: Int = 5, classes: Int = 3) throws -> Network {
        try Network(spec: try NetworkSpec.mlp(inputWidth: width, hidden: [8], classes: classes, activation: .relu, batchNorm: true,
                                              keepProbability: 0.8, initializer: nil, head: .softmax),
                    backend: TestSupport.native(), seed: 3)
    }

    func testPredictionsComeAsRowsIndicesAndLabelsAndDoNotDependOnTheBatchSize() throws {
        let data = try TestSupport.synthetic(count: 23, width: 5, classes: 3, seed: 4)
        let network = try smallNetwork()
        network.normalizer = try InputNormalizer.fit(data, .perFeature)
        let rows = (0..<data.count).map { Array(data.sample($0)) }

        let whole = try network.predict(rows)
        let chunked = try network.predict(rows, batchSize: 5)
        XCTAssertEqual(whole, chunked, "chunks of 5 rows give the same bits as one batch")
        XCTAssertEqual(whole.count, 23)
        XCTAssertEqual(whole.probabilities.count, 23)
        XCTAssertTrue(whole.probabilities.allSatisfy { $0.count == 3 && abs($0.reduce(0, +) - 1) < 1e-5 })
        XCTAssertEqual(whole.flatProbabilities, try network.predictProbabilities(data))
        XCTAssertEqual(whole.classIndices.map(Int32.init), try network.predictClasses(data))
        XCTAssertEqual(whole.labels, whole.classIndices.map(String.init), "without class names a label is the index")
        XCTAssertEqual(whole[4].probabilities, whole.probabilities[4])
        XCTAssertEqual(network.mode, .training, "predict runs in evaluation mode and restores the mode")

        network.classNames = ["ant", "bee", "cat"]
        let named = try network.predict(rows)
        XCTAssertEqual(named.labels, named.classIndices.map { ["ant", "bee", "cat"][$0] })
        XCTAssertEqual(named[0].label, named[0].className)

        let accuracy = try whole.accuracy(against: data.labels)
        let evaluation = try network.evaluate(data)
        XCTAssertEqual(accuracy, evaluation.accuracy, accuracy: 1e-12)
        XCTAssertThrowsError(try whole.accuracy(against: [0, 1]))
    }

    func testPredictNamesTheBadRowAndColumn() throws {
        let network = try smallNetwork()
        let good: [Float] = [1, 2, 3, 4, 5]
        XCTAssertThrowsError(try network.predict([good, good, [1, 2]])) { error in
            XCTAssertTrue("\(error)".contains("row 2 has 2 features but the network takes 5"), "\(error)")
        }
        XCTAssertThrowsError(try network.predict([good, [1, 2, 3, .infinity, 5]], batchSize: 1)) { error in
            XCTAssertTrue("\(error)".contains("row 1, column 3 is not finite"), "\(error)")
        }
        XCTAssertThrowsError(try network.predict([good], batchSize: 0)) { error in
            XCTAssertTrue("\(error)".contains("batch size 0"), "\(error)")
        }
        XCTAssertTrue(try network.predict([[Float]]()).isEmpty)
    }

    func testFeatureRowsAreAFeaturesOnlyDataSetForEveryPredictionPath() throws {
        let data = try TestSupport.synthetic(count: 12, width: 5, classes: 3, seed: 8)
        let network = try smallNetwork()
        let rows = (0..<data.count).map { Array(data.sample($0)) }
        let features = try FeatureRows(rows)
        XCTAssertEqual(features.count, 12)
        XCTAssertEqual(features.width, 5)
        XCTAssertEqual(Array(features.row(3)), rows[3])
        XCTAssertEqual(FeatureRows(data).features, features.features, "a labelled set's features are the same rows")
        XCTAssertEqual(try network.predict(features), try network.predict(rows))
        XCTAssertEqual(try network.predict(features, batchSize: 4), try network.predict(data))
        XCTAssertEqual(try network.predictClasses(features.dataset(classes: 3)), try network.predictClasses(data))

        XCTAssertThrowsError(try FeatureRows([[1, 2], [3]])) { error in
            XCTAssertTrue("\(error)".contains("row 1 has 1 features but row 0 has 2"), "\(error)")
        }
        XCTAssertThrowsError(try FeatureRows([[1, 2], [3, .nan]])) { error in
            XCTAssertTrue("\(error)".contains("row 1, column 1 is not finite"), "\(error)")
        }
        XCTAssertThrowsError(try FeatureRows([[Float]]()))
        XCTAssertThrowsError(try FeatureRows(features: [1, 2, 3], width: 2))
        XCTAssertThrowsError(try network.predict(try FeatureRows([[1, 2]]))) { error in
            XCTAssertTrue("\(error)".contains("rows have 2 features but the network takes 5"), "\(error)")
        }
    }

    func testTheReportCarriesTestMetricsOfTheFinalWeights() throws {
        let data = try TestSupport.synthetic(count: 90, width: 5, classes: 3, seed: 2)
        let (rest, test) = try data.split(devCount: 20, seed: 1)
        let (train, dev) = try rest.split(devCount: 20, seed: 2)
        let network = try smallNetwork()
        var config = TrainingConfig.recommended
        config.epochs = 2
        config.batchSize = 16
        let report = try Trainer(network: network, config: config).fit(train: train, dev: dev, test: test)
        let measured = try network.evaluate(test)
        XCTAssertEqual(report.test, measured, "the report's test figures are the final weights'")
        XCTAssertEqual(report.test?.count, 20)
        XCTAssertNil(try Trainer(network: smallNetwork(), config: config).fit(train: train).test)

        // A test set that does not fit the network fails before the first step, not after training.
        let wide = try TestSupport.synthetic(count: 10, width: 6, classes: 3, seed: 1)
        let trainer = try Trainer(network: smallNetwork(), config: config)
        XCTAssertThrowsError(try trainer.fit(train: train, test: wide))
        XCTAssertEqual(trainer.state.globalStep, 0)
    }

    func testProgressPrinterWritesALinePerEpochAfterTheHandlersAlreadySet() throws {
        let data = try TestSupport.synthetic(count: 64, width: 5, classes: 3, seed: 6)
        let (train, dev) = try data.split(devCount: 16, seed: 1)
        var config = TrainingConfig.recommended
        config.epochs = 3
        config.batchSize = 8
        config.metricsInterval = 1
        let trainer = try Trainer(network: smallNetwork(), config: config)
        var events: [String] = []
        trainer.onEpoch = { events.append("checkpoint \($0.epoch)") }
        ProgressPrinter(showsBatches: true, batchInterval: 3600) { events.append($0) }.attach(to: trainer)
        try trainer.fit(train: train, dev: dev)

        let epochLines = events.filter { $0.hasPrefix("epoch ") && $0.contains("train loss") }
        XCTAssertEqual(epochLines.count, 3)
        XCTAssertTrue(epochLines[0].hasPrefix("epoch 1/3: train loss "), epochLines[0])
        XCTAssertTrue(epochLines[2].contains("| dev loss "), epochLines[2])
        XCTAssertEqual(events.firstIndex(of: "checkpoint 2").map { $0 + 1 }, events.firstIndex(of: epochLines[1]),
                       "the handler set before runs first; the line follows")
        // The first batch gets a line at once; then the long interval lets only each epoch's last batch through.
        let batchLines = events.filter { $0.contains(" batch ") }
        XCTAssertEqual(batchLines.count, 4, "\(batchLines)")
        XCTAssertTrue(batchLines[0].hasPrefix("epoch 1/3 batch 1/6: loss "), batchLines[0])
        XCTAssertTrue(batchLines[3].hasPrefix("epoch 3/3 batch 6/6: loss "), batchLines[3])
    }

    func testTheRecommendedRecipeIsNNTrainsAndTheDefaultConfigIsUnchanged() throws {
        let recommended = TrainingConfig.recommended
        XCTAssertEqual(recommended.schedule, .cosine)
        XCTAssertEqual(recommended.optimizer, .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8))
        XCTAssertEqual(recommended.learningRate, 1e-3)
        XCTAssertEqual(recommended.batchSize, 128)
        XCTAssertEqual(recommended.epochs, 10)
        XCTAssertNil(recommended.earlyStopping)
        XCTAssertEqual(TrainingConfig.recommended(normalization: .global).inputNormalization, .global)

        // Existing users of TrainingConfig() keep training as before (see the migration note).
        var old = TrainingConfig()
        XCTAssertEqual(old.schedule, .constant)
        old.schedule = .cosine
        XCTAssertEqual(old, recommended, "the recipe differs from TrainingConfig() only in its schedule")

        let recipe = TrainingRecipe.standard
        XCTAssertEqual(try recipe.networkSpec(inputWidth: 784, classes: 10),
                       try NetworkSpec.mlp(inputWidth: 784, hidden: [512, 256], classes: 10))
        XCTAssertEqual(recipe.devCount(of: 1000), 100)
        XCTAssertEqual(recipe.devCount(of: 1), 0, "at least one sample is left to train on")
    }

    /// The save/load/resume recipe of the "Checkpoints and PyTorch" article, as written there: a run
    /// stopped after epoch 1 and resumed from its checkpoint ends on the uninterrupted run's weights.
    func testTheDocumentedResumeContinuesARunBitForBit() throws {
        let data = try TestSupport.synthetic(count: 80, width: 5, classes: 3, seed: 9)
        let (train, dev) = try data.split(devCount: 16, seed: 1)
        let spec = try NetworkSpec.mlp(inputWidth: 5, hidden: [8], classes: 3, keepProbability: 0.9)
        var config = TrainingConfig.recommended
        config.epochs = 3
        config.batchSize = 16
        let backend = TestSupport.native()

        let whole = try Network(spec: spec, backend: backend, seed: 1)
        try Trainer(network: whole, config: config).fit(train: train, dev: dev)

        let directory = NSTemporaryDirectory() + "library-resume-\(UInt64.random(in: 0 ... .max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try Network(spec: spec, backend: backend, seed: 1)
        let trainer = try Trainer(network: first, config: config)
        trainer.onEpoch = { metrics in
            guard metrics.epoch == 1 else { return }
            try ModelCheckpoint.save(first, toDirectory: directory)
            try TrainingCheckpoint.save(trainer: trainer, toDirectory: directory)
            throw CancellationError()  // the process "dies" after the checkpoint
        }
        XCTAssertThrowsError(try trainer.fit(train: train, dev: dev))

        // Resuming, as the article shows it.
        let network = try ModelCheckpoint.load(directory, backend: backend)
        let saved = try TrainingCheckpoint.read(directory: directory)
        let resumed = try Trainer(network: network, config: saved.config ?? config)
        try resumed.restore(state: saved.state, tensors: saved.tensors)
        let report = try resumed.fit(train: train, dev: dev)
        XCTAssertEqual(report.epochs.map(\.epoch), [2, 3])
        XCTAssertEqual(try network.namedTensors(), try whole.namedTensors(), "same bits as the run that never stopped")
    }

    /// The custom training loop of the "Training" article: Trainer.step on batches the caller builds.
    func testTheDocumentedCustomTrainingLoopLearns() throws {
        let data = try TestSupport.synthetic(count: 120, width: 5, classes: 3, seed: 12)
        let (train, dev) = try data.split(devCount: 30, seed: 1)
        let network = try Network(spec: try NetworkSpec.mlp(inputWidth: 5, hidden: [16], classes: 3), backend: TestSupport.native(), seed: 1)
        let normalizer = try InputNormalizer.fit(train)
        network.normalizer = normalizer
        var config = TrainingConfig.recommended
        config.learningRate = 1e-2
        let trainer = try Trainer(network: network, config: config)
        let backend = network.backend
        let before = try network.evaluate(dev).loss
        for _ in 0..<20 {
            for start in stride(from: 0, to: train.count, by: 32) {
                let batch = try train.subset(rows: Array(start..<min(start + 32, train.count)))
                let inputs = try backend.makeTensor(normalizer.apply(batch.features), shape: Shape(batch.count, batch.width))
                let labels = try backend.makeTensor(batch.labels.map(Float.init), shape: Shape(batch.count, 1))
                try trainer.step(inputs: inputs, labels: labels)
            }
        }
        let after = try network.evaluate(dev)
        XCTAssertLessThan(after.loss, before * 0.8, "20 epochs of steps lower the dev loss")
        XCTAssertEqual(trainer.state.globalStep, 20 * 3)
    }
}
