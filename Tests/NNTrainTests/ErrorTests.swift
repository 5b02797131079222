import NNCore
import NNTrain
import XCTest

/// Wrong use is a thrown error that names the problem.
final class ErrorTests: XCTestCase {
    private func assertThrows(_ expression: @autoclosure () throws -> some Any, mentioning words: [String],
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            let text = "\(error)"
            for word in words {
                XCTAssertTrue(text.contains(word), "'\(text)' should mention '\(word)'", file: file, line: line)
            }
        }
    }

    func testLabelOutOfRangeNamesLabelAndRow() {
        assertThrows(try Dataset(features: [0, 1, 2, 3, 4, 5], labels: [1, 0, 3], width: 2, classes: 3),
                     mentioning: ["label 3", "row 2", "0..<3"])
        assertThrows(try Dataset(features: [0, 1], labels: [-1], width: 2, classes: 3), mentioning: ["label -1", "row 0"])
    }

    func testDatasetShapeAndFiniteness() {
        assertThrows(try Dataset(features: [0, 1, 2], labels: [0, 1], width: 2, classes: 2), mentioning: ["3 feature values", "2 × 2"])
        assertThrows(try Dataset(features: [0, .nan, 2, 3], labels: [0, 1], width: 2, classes: 2), mentioning: ["row 0, column 1"])
        assertThrows(try Dataset(features: [0], labels: [0], width: 1, classes: 1), mentioning: ["at least 2"])
    }

    func testDataWiderThanTheNetworkInput() throws {
        let data = try TestSupport.synthetic(count: 20, width: 5, classes: 3, seed: 1)
        let network = try Network(spec: try .mlp(inputWidth: 4, hidden: [3], classes: 3), backend: TestSupport.native())
        let trainer = try Trainer(network: network, config: TrainingConfig())
        assertThrows(try trainer.fit(train: data), mentioning: ["layer 0", "expects 4", "has 5"])
        assertThrows(try network.evaluate(data), mentioning: ["expects 4"])
    }

    func testMoreClassesInTheDataThanTheNetworkPredicts() throws {
        let data = try TestSupport.synthetic(count: 20, width: 4, classes: 5, seed: 1)
        let network = try Network(spec: try .mlp(inputWidth: 4, hidden: [3], classes: 3), backend: TestSupport.native())
        assertThrows(try Trainer(network: network, config: TrainingConfig()).fit(train: data), mentioning: ["5 classes", "classifies 3"])
    }

    func testNegativeLearningRate() throws {
        let network = try Network(spec: try .mlp(inputWidth: 4, hidden: [3], classes: 3), backend: TestSupport.native())
        var config = TrainingConfig()
        config.learningRate = -0.01
        assertThrows(try Trainer(network: network, config: config), mentioning: ["learning rate -0.01"])
        config.learningRate = .nan
        assertThrows(try Trainer(network: network, config: config), mentioning: ["learning rate"])
    }

    func testKeepProbabilityOutsideUnitInterval() {
        for keep: Float in [0, -0.5, 1.5] {
            assertThrows(try NetworkSpec.mlp(inputWidth: 4, hidden: [3], classes: 3, keepProbability: keep), mentioning: ["keep probability"])
            assertThrows(try NetworkSpec(inputWidth: 4, layers: [.dropout(keep: keep), .dense(units: 3, initializer: .he)], classes: 3),
                         mentioning: ["layer 0 (dropout)", "(0, 1]"])
        }
    }

    func testOutputLayerMustFitTheHead() {
        assertThrows(try NetworkSpec(inputWidth: 4, layers: [.dense(units: 5, initializer: .he)], classes: 3),
                     mentioning: ["5 units", "needs 3"])
        assertThrows(try NetworkSpec(inputWidth: 4, layers: [.dense(units: 1, initializer: .he)], classes: 3, head: .sigmoid),
                     mentioning: ["binary"])
        assertThrows(try NetworkSpec(inputWidth: 4, layers: [.activation(.relu)], classes: 3), mentioning: ["last layer"])
    }

    func testOtherBadSettings() throws {
        let network = try Network(spec: try .mlp(inputWidth: 4, hidden: [3], classes: 3), backend: TestSupport.native())
        var config = TrainingConfig()
        config.batchSize = 0
        assertThrows(try Trainer(network: network, config: config), mentioning: ["batch size 0"])
        config = TrainingConfig()
        config.optimizer = .adam(beta1: 1, beta2: 0.999, epsilon: 1e-8)
        assertThrows(try Trainer(network: network, config: config), mentioning: ["β₁"])
        config = TrainingConfig()
        config.schedule = .exponential(rate: 1.5)
        assertThrows(try Trainer(network: network, config: config), mentioning: ["decay factor"])
        assertThrows(try Regularization(l2: -1), mentioning: ["L2 λ"])
        config = TrainingConfig()
        config.earlyStopping = EarlyStopping(metric: .devLoss, patience: 2)
        let data = try TestSupport.synthetic(count: 20, width: 4, classes: 3, seed: 1)
        assertThrows(try Trainer(network: network, config: config).fit(train: data, dev: nil), mentioning: ["dev set"])
    }

    func testBatchNormWithBatchSizeOne() throws {
        let network = try Network(spec: try .mlp(inputWidth: 4, hidden: [3], classes: 3, batchNorm: true), backend: TestSupport.native())
        var config = TrainingConfig()
        config.batchSize = 1
        let data = try TestSupport.synthetic(count: 20, width: 4, classes: 3, seed: 1)
        assertThrows(try Trainer(network: network, config: config).fit(train: data), mentioning: ["at least 2 samples"])
    }

    func testDivergingTrainingStopsWithNonFinite() throws {
        let data = try TestSupport.synthetic(count: 64, width: 4, classes: 3, seed: 1)
        let network = try Network(spec: try .mlp(inputWidth: 4, hidden: [8], classes: 3, batchNorm: false), backend: TestSupport.native())
        var config = TrainingConfig()
        config.optimizer = .sgd
        config.learningRate = 1e30
        config.batchSize = 16
        config.metricsInterval = 1
        var epochsReported = 0
        let trainer = try Trainer(network: network, config: config)
        trainer.onEpoch = { _ in epochsReported += 1 }
        XCTAssertThrowsError(try trainer.fit(train: data)) { error in
            guard case let NNError.nonFinite(detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("epoch 1"), detail)
            XCTAssertTrue(detail.contains("lower the learning rate"), detail)
        }
        XCTAssertEqual(epochsReported, 0, "no checkpoint callback for the diverged epoch")
    }

    func testLoadingAStateDictOfAnotherArchitecture() throws {
        let backend = TestSupport.native()
        let small = try Network(spec: try .mlp(inputWidth: 4, hidden: [3], classes: 3, batchNorm: true), backend: backend)
        let other = try Network(spec: try .mlp(inputWidth: 4, hidden: [5], classes: 3, batchNorm: false), backend: backend)
        let before = try small.namedTensors()
        assertThrows(try small.load(namedTensors: try other.namedTensors()),
                     mentioning: ["'0.weight' has shape [5, 4]", "'1.running_mean'", "missing", "unexpected"])
        XCTAssertEqual(try small.namedTensors(), before, "a failed load changes nothing")
        var tensors = before
        tensors.append(.float32("9.weight", shape: [1], values: [0]))
        assertThrows(try small.load(namedTensors: tensors), mentioning: ["unexpected tensor(s) '9.weight'"])
    }
}
