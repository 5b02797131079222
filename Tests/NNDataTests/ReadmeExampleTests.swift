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
        let (train, dev) = try data.train.split(devCount: 300, seed: 0)
        let backend = try BackendSelection.make(.native)
        let spec = try NetworkSpec.mlp(inputWidth: train.width, hidden: [32], classes: train.classes)
        let network = try Network(spec: spec, backend: backend, seed: 1)
        var config = TrainingConfig()
        config.epochs = 10
        config.batchSize = 32
        config.schedule = .cosine
        config.inputNormalization = data.suggestedNormalization
        config.regularization = try Regularization(l2: 1e-4)
        let trainer = try Trainer(network: network, config: config)
        let report = try trainer.fit(train: train, dev: dev)

        XCTAssertEqual(report.epochs.count, 10)
        // Ten epochs of Adam on digits reach about 95 % dev accuracy; 85 % is far above chance (10 %) and
        // leaves room for seeds, while a broken example (no learning) stays near 10 %.
        let devAccuracy = try XCTUnwrap(report.dev?.accuracy)
        XCTAssertGreaterThan(devAccuracy, 0.85, "dev accuracy after 10 epochs")
        XCTAssertNotNil(report.diagnosis)

        let test = try XCTUnwrap(data.test)
        let predictions = try network.predict([Array(test.sample(0))])
        XCTAssertEqual(predictions.count, 1)
        XCTAssertEqual(predictions[0].probabilities.count, 10)
        XCTAssertEqual(predictions[0].classIndex, Int(try network.predictClasses(test)[0]))
        let folder = NSTemporaryDirectory() + "readme-example-\(UInt64.random(in: 0 ... .max))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try ModelCheckpoint.save(network, toDirectory: folder)
        XCTAssertEqual(try ModelCheckpoint.load(folder, backend: backend).spec, spec)
    }
}
