import Foundation
import XCTest
import NNBackends
import NNData
import NNTrain

/// The README's library example, run as written except for the data set (digits, so it takes
/// seconds) and the sizes that depend on it. If this stops compiling, the README is wrong.
final class ReadmeExampleTests: XCTestCase {
    func testReadmeLibraryExampleTrainsAModel() throws {
        let data = try DataLoader.load("digits")
        var recipe = TrainingRecipe.standard
        recipe.hiddenLayers = [32]  // digits: a small network keeps the debug-build test fast
        let (train, dev) = try data.train.split(devCount: recipe.devCount(of: data.train.count), seed: recipe.splitSeed)
        let backend = try BackendSelection.make(.native)
        let spec = try recipe.networkSpec(inputWidth: train.width, classes: train.classes)
        let network = try Network(spec: spec, backend: backend, seed: 1)
        var config = TrainingConfig.recommended(normalization: data.suggestedNormalization)
        config.batchSize = 32  // digits: ~1,300 training samples
        config.regularization = try Regularization(l2: 1e-4)
        let trainer = try Trainer(network: network, config: config)
        var lines: [String] = []
        ProgressPrinter { lines.append($0) }.attach(to: trainer)
        let report = try trainer.fit(train: train, dev: dev, test: data.test)

        XCTAssertEqual(report.epochs.count, 10)
        XCTAssertEqual(lines.count, 10, "one progress line per epoch")
        // Ten epochs of the recipe on digits reach about 95 % dev accuracy; 85 % is far above chance
        // (10 %) and leaves room for seeds, while a broken example (no learning) stays near 10 %.
        XCTAssertGreaterThan(try XCTUnwrap(report.dev?.accuracy), 0.85, "dev accuracy after 10 epochs")
        let test = try XCTUnwrap(data.test)
        XCTAssertEqual(report.test, try network.evaluate(test), "the report carries the final weights' test figures")
        XCTAssertGreaterThan(try XCTUnwrap(report.test?.accuracy), 0.85)
        XCTAssertNotNil(report.diagnosis)

        let rows: [[Float]] = [Array(train.sample(0)), Array(train.sample(1))]
        let predictions = try network.predict(rows)
        XCTAssertEqual(predictions.labels.count, 2)
        XCTAssertEqual(predictions.probabilities[0].count, 10)
        XCTAssertEqual(predictions.classIndices.map(Int32.init), try network.predictClasses(train.subset(rows: [0, 1])))

        let folder = NSTemporaryDirectory() + "readme-example-\(UInt64.random(in: 0 ... .max))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try ModelCheckpoint.save(network, toDirectory: folder)
        let loaded = try ModelCheckpoint.load(folder, backend: backend)
        XCTAssertEqual(loaded.spec, spec)
        XCTAssertEqual(try loaded.predict(rows).classIndices, predictions.classIndices)
    }
}
