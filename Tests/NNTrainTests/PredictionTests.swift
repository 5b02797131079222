import NNCore
import NNNative
@testable import NNTrain
import XCTest

/// `Network.predict(_:)`: predictions from plain rows of raw features, with class names when the
/// model has them, equal to the data-set path's.
final class PredictionTests: XCTestCase {
    func testPredictFromRowsMatchesTheDatasetPathAndNamesClasses() throws {
        let data = try TestSupport.synthetic(count: 40, width: 5, classes: 3, seed: 11)
        let network = try Network(spec: try NetworkSpec.mlp(inputWidth: 5, hidden: [8], classes: 3, activation: .relu,
                                                             batchNorm: true, keepProbability: 1, initializer: nil, head: .softmax),
                                  backend: TestSupport.native(), seed: 2)
        network.normalizer = try InputNormalizer.fit(data, .perFeature)
        let rows = (0..<data.count).map { Array(data.sample($0)) }
        let expected = try network.predictProbabilities(data)

        let predictions = try network.predict(rows)
        XCTAssertEqual(predictions.count, 40)
        XCTAssertEqual(predictions.flatMap(\.probabilities), expected, "same arithmetic, same bits")
        XCTAssertEqual(predictions.map { Int32($0.classIndex) }, try network.predictClasses(data))
        XCTAssertTrue(predictions.allSatisfy { $0.className == nil })

        network.classNames = ["ant", "bee", "cat"]
        XCTAssertEqual(try network.predict([rows[0]]).first?.className, ["ant", "bee", "cat"][predictions[0].classIndex])
        XCTAssertTrue(try network.predict([]).isEmpty)
        XCTAssertThrowsError(try network.predict([rows[0], [1, 2]])) { error in
            XCTAssertTrue("\(error)".contains("row 1 has 2 features but the network takes 5"), "\(error)")
        }
        XCTAssertThrowsError(try network.predict([[1, 2, .nan, 4, 5]])) { error in
            XCTAssertTrue("\(error)".contains("not finite"), "\(error)")
        }
    }

    /// A model trained on text labels keeps their names through a checkpoint.
    func testClassNamesTravelFromTheDataThroughTheCheckpoint() throws {
        let plain = try TestSupport.synthetic(count: 30, width: 4, classes: 2, seed: 5)
        let named = try Dataset(features: plain.features, labels: plain.labels, width: 4, classes: 2, name: "named",
                                classNames: ["no", "yes"])
        XCTAssertThrowsError(try Dataset(features: plain.features, labels: plain.labels, width: 4, classes: 2, classNames: ["only"]))
        XCTAssertThrowsError(try Dataset(features: plain.features, labels: plain.labels, width: 4, classes: 2, classNames: ["a", "a"]))
        XCTAssertEqual(try named.subset(rows: [0, 1]).classNames, ["no", "yes"])

        let network = try Network(spec: try NetworkSpec.mlp(inputWidth: 4, hidden: [], classes: 2, activation: .relu, batchNorm: false,
                                                             keepProbability: 1, initializer: nil, head: .softmax),
                                  backend: TestSupport.native(), seed: 1)
        var config = TrainingConfig()
        config.epochs = 1
        try Trainer(network: network, config: config).fit(train: named)
        XCTAssertEqual(network.classNames, ["no", "yes"], "training on named data names the model's classes")

        let directory = NSTemporaryDirectory() + "/prediction-tests-\(UInt64.random(in: 0 ... .max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ModelCheckpoint.save(network, toDirectory: directory)
        XCTAssertEqual(try ModelCheckpoint.describe(directory).classNames, ["no", "yes"])
        XCTAssertEqual(try ModelCheckpoint.load(directory, backend: TestSupport.native()).classNames, ["no", "yes"])
    }
}
