import Foundation
import XCTest
import NNBackends
import NNData
import NNTrain

/// PyTorch's form of momentum (v ← μ·v + g; w ← w − α·v), which the built-in rules do not offer
/// (theirs is the course's v ← β·v + (1 − β)·g): a rule of a program's own, composed from backend ops.
struct HeavyBallMomentum: OptimizerRule {
    var momentum: Float = 0.9

    var name: String { "heavy-ball" }
    var stateNames: [String] { ["velocity"] }

    func validate() throws {
        guard momentum >= 0, momentum < 1 else {
            throw NNError.invalidArgument(op: "heavy-ball", detail: "momentum \(momentum) must lie in [0, 1)")
        }
    }

    func update(_ parameter: Parameter, state: [Tensor], learningRate: Float, step: Int, penalty: WeightPenalty,
                backend: any Backend) throws {
        guard penalty.l1 == 0 else {
            throw NNError.invalidArgument(op: "heavy-ball", detail: "L1 needs sign(w), which this rule does not compute; use L2")
        }
        let velocity = state[0]
        if penalty.l2 > 0 { try backend.axpy(alpha: penalty.l2, parameter.value, parameter.gradient) }
        try backend.scale(velocity, by: momentum)
        try backend.axpy(alpha: 1, parameter.gradient, velocity)
        try backend.axpy(alpha: -learningRate, velocity, parameter.value)
    }
}

final class CustomOptimizerTests: XCTestCase {
    /// Digits trained by the custom rule on both backends. With lr 0.01 and μ 0.9 (an effective step of
    /// 0.1) eight epochs reach about 95 % dev accuracy; 85 % leaves room for seeds and backends, and a
    /// rule that does not move the weights stays near 10 %.
    func testCustomRuleTrainsDigitsOnBothBackends() throws {
        let data = try DataLoader.load("digits")
        let (train, dev) = try data.train.split(devCount: 300, seed: 0)
        for backend in [try BackendSelection.make(.native), try ExtensionBackends.openCL()] {
            let spec = try NetworkSpec.mlp(inputWidth: train.width, hidden: [48], classes: train.classes)
            let network = try Network(spec: spec, backend: backend, seed: 1)
            var config = TrainingConfig()
            config.epochs = 8
            config.batchSize = 32
            config.learningRate = 0.01
            config.regularization = try Regularization(l2: 1e-4)
            let trainer = try Trainer(network: network, config: config, rule: HeavyBallMomentum())
            let report = try trainer.fit(train: train, dev: dev)
            XCTAssertGreaterThan(try XCTUnwrap(report.dev?.accuracy), 0.85, "dev accuracy on \(backend.name)")
            XCTAssertEqual(trainer.optimizer.rule.name, "heavy-ball")
            XCTAssertEqual(try trainer.stateTensors().filter { $0.name.hasSuffix(".velocity") }.count, network.parameters.count,
                           "one velocity per parameter, saved for resuming")
        }
    }

    /// A run saved with the custom rule refuses to resume under a built-in one, naming both.
    func testResumingUnderAnotherRuleIsRefused() throws {
        let backend = try BackendSelection.make(.native)
        let data = try Dataset(features: (0..<40).map { Float($0 % 7) }, labels: (0..<20).map { Int32($0 % 2) }, width: 2, classes: 2)
        let spec = try NetworkSpec.mlp(inputWidth: 2, hidden: [4], classes: 2, batchNorm: false)
        var config = TrainingConfig()
        config.epochs = 1
        let saved = try Trainer(network: Network(spec: spec, backend: backend, seed: 1), config: config, rule: HeavyBallMomentum())
        _ = try saved.fit(train: data)
        let fresh = try Trainer(network: Network(spec: spec, backend: backend, seed: 1), config: config)
        XCTAssertThrowsError(try fresh.restore(state: saved.state, tensors: saved.stateTensors())) { error in
            XCTAssertTrue(String(describing: error).contains("saved with optimizer heavy-ball but this run uses adam"), "\(error)")
        }
    }

    func testInvalidHyperparameterIsRefusedBeforeTraining() throws {
        let backend = try BackendSelection.make(.native)
        let network = try Network(spec: NetworkSpec.mlp(inputWidth: 2, hidden: [4], classes: 2), backend: backend)
        XCTAssertThrowsError(try Trainer(network: network, config: TrainingConfig(), rule: HeavyBallMomentum(momentum: 1))) { error in
            XCTAssertTrue(String(describing: error).contains("momentum 1.0 must lie in [0, 1)"), "\(error)")
        }
    }
}
