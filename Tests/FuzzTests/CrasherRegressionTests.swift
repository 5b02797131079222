import Foundation
import NNCore
import NNTrain
import XCTest

/// The inputs that crashed or misled nn in the reliability probe of issue 12, each rebuilt from a
/// valid checkpoint with one field damaged, and each now a clear error.
final class CrasherRegressionTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nn-crashers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// The model seed with `edit` applied to its metadata (or tensors), written to a file.
    private func damagedModel(_ edit: (inout SafeTensors.Contents) throws -> Void) throws -> String {
        var contents = try SafeTensors.parse(CheckpointSeeds.models()[0], source: "seed")
        try edit(&contents)
        let path = scratch.appendingPathComponent("model-\(UUID().uuidString).safetensors").path
        try SafeTensors.write(contents.tensors, metadata: contents.metadata, to: path)
        return path
    }

    private func assertRefused(_ path: String, mentions expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ModelCheckpoint.load(path, backend: CheckpointSeeds.backend), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(expected), "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(path), "the error names the file: \(error)", file: file, line: line)
        }
    }

    private func editJSON(_ text: String?, _ edit: (inout [String: Any]) -> Void) throws -> String {
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(text).utf8)) as? [String: Any])
        edit(&object)
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    func testNormalizerShorterThanTheInputIsRefused() throws {
        // Was: a trap in InputNormalizer.gather (63 σ for a 4-wide model here, 63 for 64 in the probe).
        let path = try damagedModel { contents in
            contents.metadata[ModelCheckpoint.Key.inputNormalizer] = try editJSON(contents.metadata[ModelCheckpoint.Key.inputNormalizer]) {
                $0["standardDeviation"] = [1, 1, 1]
            }
        }
        assertRefused(path, mentions: "standard deviations")
    }

    func testZeroStandardDeviationIsRefused() throws {
        // Was: `loss -nan` and exit 0.
        let path = try damagedModel { contents in
            contents.metadata[ModelCheckpoint.Key.inputNormalizer] = try editJSON(contents.metadata[ModelCheckpoint.Key.inputNormalizer]) {
                $0["standardDeviation"] = [1, 0, 1, 1]
            }
        }
        assertRefused(path, mentions: "must be positive and finite")
    }

    func testAbsurdLayerWidthsAreRefusedBeforeAllocating() throws {
        // Was: 2^62 units trapped in Shape.count; 10^12 asked for 512 TB.
        for units in [1 << 62, 1_000_000_000_000, NetworkSpec.maximumWidth + 1] {
            let path = try damagedModel { contents in
                contents.metadata[ModelCheckpoint.Key.networkSpec] = contents.metadata[ModelCheckpoint.Key.networkSpec]?
                    .replacingOccurrences(of: "\"units\":5", with: "\"units\":\(units)")
            }
            assertRefused(path, mentions: "units")
        }
        XCTAssertThrowsError(try NetworkSpec.mlp(inputWidth: 784, hidden: [1_000_000_000_000], classes: 10)) { error in
            XCTAssertTrue("\(error)".contains("\(NetworkSpec.maximumWidth)"), "the limit is named: \(error)")
        }
        XCTAssertThrowsError(try NetworkSpec.mlp(inputWidth: 784, hidden: [100_000, 100_000], classes: 10)) { error in
            XCTAssertTrue("\(error)".contains("\(NetworkSpec.maximumParameters)"), "the parameter limit is named: \(error)")
        }
    }

    func testSpecThatDisagreesWithTheTensorsIsRefused() throws {
        // A plausible spec (6 hidden units) over tensors of 5: refused before a network is built for it.
        let path = try damagedModel { contents in
            contents.metadata[ModelCheckpoint.Key.networkSpec] = contents.metadata[ModelCheckpoint.Key.networkSpec]?
                .replacingOccurrences(of: "\"units\":5", with: "\"units\":6")
        }
        XCTAssertThrowsError(try ModelCheckpoint.describe(path)) { error in
            XCTAssertTrue("\(error)".contains("'0.weight' has shape [5, 4] but the network needs [6, 4]"), "\(error)")
        }
    }

    func testInfiniteRunningVarianceIsRefused() throws {
        // Was: a "last good" best/ holding inf in a running variance evaluated to 14.7 %.
        let path = try damagedModel { contents in
            let i = try XCTUnwrap(contents.tensors.firstIndex { $0.name == "1.running_var" })
            contents.tensors[i].values[2] = .infinity
        }
        assertRefused(path, mentions: "'1.running_var' holds inf")
    }

    func testHugeOptimizerStepIsRefused() throws {
        // Was: an overflow trap in Optimizer when training continued.
        let folder = scratch.appendingPathComponent("epoch-001").path
        _ = try CheckpointSeeds.trainingState(in: folder)
        let statePath = (folder as NSString).appendingPathComponent(ModelCheckpoint.trainingStateFileName)
        var contents = try SafeTensors.read(path: statePath)
        contents.metadata[TrainingCheckpoint.Key.trainingState] = try editJSON(contents.metadata[TrainingCheckpoint.Key.trainingState]) {
            $0["optimizerStep"] = Int.max
        }
        try SafeTensors.write(contents.tensors, metadata: contents.metadata, to: statePath)
        XCTAssertThrowsError(try TrainingCheckpoint.read(directory: folder)) { error in
            XCTAssertTrue("\(error)".contains("optimizer_step is 9223372036854775807, outside 0…2^53"), "\(error)")
        }
    }
}
