import NNCore
import NNTrain
import XCTest

/// End-to-end: the 8×8 digits reach ≥ 95 % accuracy on a held-out split on each backend.
final class ConvergenceTests: XCTestCase {
    private func trainDigits(on backend: any Backend) throws -> (test: Evaluation, report: TrainingReport) {
        let digits = try TestSupport.digits()
        let (rest, test) = try digits.split(devCount: 360, seed: 42)
        let (train, dev) = try rest.split(devCount: 180, seed: 43)
        let spec = try NetworkSpec.mlp(inputWidth: 64, hidden: [32], classes: 10, batchNorm: true, keepProbability: 0.9)
        let network = try Network(spec: spec, backend: backend, seed: 3)
        var config = TrainingConfig()
        config.epochs = 7
        config.batchSize = 64
        config.learningRate = 1e-2
        config.seed = 5
        let trainer = try Trainer(network: network, config: config)
        let report = try trainer.fit(train: train, dev: dev)
        return (try network.evaluate(test), report)
    }

    func testDigitsNative() throws {
        let (test, report) = try trainDigits(on: TestSupport.native())
        XCTAssertGreaterThanOrEqual(test.accuracy, 0.95, "native test accuracy \(test.accuracy); \(report.diagnosis?.description ?? "")")
        // The loss must have fallen: the first epoch's mean loss is above the last's.
        XCTAssertLessThan(report.epochs.last?.trainLoss ?? .infinity, report.epochs.first?.trainLoss ?? 0)
    }

    func testDigitsOpenCL() throws {
        let (test, report) = try trainDigits(on: try TestSupport.openCL())
        XCTAssertGreaterThanOrEqual(test.accuracy, 0.95, "OpenCL test accuracy \(test.accuracy); \(report.diagnosis?.description ?? "")")
    }
}
