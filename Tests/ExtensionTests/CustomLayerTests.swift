import Foundation
import XCTest
import NNBackends
import NNData
import NNTrain

/// Layers defined outside NNTrain train, save, load and refuse what they should, on both backends.
final class CustomLayerTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        do {
            try LayerSpec.register(ScaledReLUDefinition.self)
            try LayerSpec.register(LearnedShiftDefinition.self)
        } catch {
            XCTFail("registering the test layers failed: \(error)")
        }
    }

    private func spec(width: Int, classes: Int) throws -> NetworkSpec {
        try NetworkSpec(inputWidth: width, layers: [
            .dense(units: 48, initializer: .he),
            LearnedShiftDefinition().spec,
            ScaledReLUDefinition(scale: 1.5).spec,
            .dense(units: classes, initializer: .xavier),
        ], classes: classes)
    }

    private func trainDigits(on backend: any Backend) throws -> (Network, TrainingReport, Dataset) {
        let data = try DataLoader.load("digits")
        let (train, dev) = try data.train.split(devCount: 300, seed: 0)
        let network = try Network(spec: spec(width: train.width, classes: train.classes), backend: backend, seed: 1)
        var config = TrainingConfig()
        config.epochs = 8
        config.batchSize = 32
        let report = try Trainer(network: network, config: config).fit(train: train, dev: dev)
        return (network, report, dev)
    }

    /// A network with the two custom layers learns digits. Eight epochs of Adam reach about 95 % dev
    /// accuracy on both backends; 85 % leaves room for seeds while a layer that breaks the gradient
    /// (no learning) stays near 10 %.
    func testCustomLayersTrainDigitsOnBothBackends() throws {
        for backend in [try BackendSelection.make(.native), try ExtensionBackends.openCL()] {
            let (network, report, _) = try trainDigits(on: backend)
            let accuracy = try XCTUnwrap(report.dev?.accuracy)
            XCTAssertGreaterThan(accuracy, 0.85, "dev accuracy on \(backend.name)")
            XCTAssertEqual(network.describeArchitecture(), "64 → dense 48 → learnedShift → scaled relu ×1.5 → dense 10 (softmax)")
            let shift = try XCTUnwrap(network.parameters.first { $0.name == "1.shift" })
            XCTAssertTrue(try backend.download(shift.value).contains { $0 != 0 }, "the shift parameter was trained on \(backend.name)")
        }
    }

    /// A checkpoint of a network with custom layers reads back to the same predictions, and its
    /// state dict holds the custom parameter under the layer's index.
    func testCheckpointOfCustomLayersRoundTrips() throws {
        let backend = try BackendSelection.make(.native)
        let (network, _, dev) = try trainDigits(on: backend)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("custom-layers-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try ModelCheckpoint.save(network, toDirectory: folder)
        XCTAssertTrue(try network.namedTensors().map(\.name).contains("1.shift"))
        let loaded = try ModelCheckpoint.load(folder, backend: backend)
        XCTAssertEqual(loaded.spec, network.spec)
        XCTAssertEqual(try loaded.predictProbabilities(dev), try network.predictProbabilities(dev))
    }

    /// A kind nobody registered is named in the decoding error, with the fix.
    func testUnregisteredKindIsRefusedByName() throws {
        let json = #"{"inputWidth":4,"classes":2,"head":"softmax","layers":[{"mystery":{}},{"dense":{"units":2,"initializer":"he"}}]}"#
        XCTAssertThrowsError(try JSONDecoder().decode(NetworkSpec.self, from: Data(json.utf8))) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("unknown layer kind 'mystery'"), text)
            XCTAssertTrue(text.contains("LayerSpec.register"), text)
        }
    }

    /// The built-in kinds keep the JSON of the enum they replaced, so every checkpoint written before reads.
    func testBuiltInLayersKeepTheirCheckpointFormat() throws {
        let spec = try NetworkSpec.mlp(inputWidth: 3, hidden: [4], classes: 2, keepProbability: 0.5)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(spec.layers), as: UTF8.self)
        XCTAssertEqual(text, #"[{"dense":{"initializer":"he","units":4}},{"batchNorm":{"averagingBeta":0.9,"epsilon":1e-05}},{"activation":{"_0":"relu"}},{"dropout":{"keep":0.5}},{"dense":{"initializer":"xavier","units":2}}]"#)
        XCTAssertEqual(try JSONDecoder().decode([LayerSpec].self, from: Data(text.utf8)), spec.layers)
    }

    /// Registering another type under a taken kind is an error naming both.
    func testKindClashIsRefused() {
        struct Impostor: LayerDefinition {
            static let kind = "dense"
            func outputWidth(inputWidth: Int) throws -> Int { inputWidth }
            func makeLayer(at position: LayerPosition, builder: LayerBuilder) throws -> any Layer {
                ScaledReLU(index: position.index, scale: 1, backend: builder.backend)
            }
        }
        XCTAssertThrowsError(try LayerSpec.register(Impostor.self)) { error in
            XCTAssertTrue(String(describing: error).contains("already registered"), "\(error)")
        }
        XCTAssertNoThrow(try LayerSpec.register(ScaledReLUDefinition.self), "registering the same type twice is harmless")
    }

    /// A layer that does not build what its definition declares is refused when the network is built.
    func testLayerThatBreaksItsDeclarationIsRefused() throws {
        let spec = try NetworkSpec(inputWidth: 3, layers: [ForgetfulDefinition().spec, .dense(units: 2, initializer: .he)], classes: 2)
        XCTAssertThrowsError(try Network(spec: spec, backend: BackendSelection.make(.native))) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("layer 0 (forgetful)"), text)
            XCTAssertTrue(text.contains("declares parameter 0.scale"), text)
        }
    }

    /// Hyperparameter errors from a custom definition name the layer's position.
    func testCustomDefinitionErrorsNameTheLayer() {
        XCTAssertThrowsError(try NetworkSpec(inputWidth: 3, layers: [ScaledReLUDefinition(scale: -1).spec, .dense(units: 2, initializer: .he)],
                                             classes: 2)) { error in
            XCTAssertTrue(String(describing: error).contains("layer 0 (scaled relu ×-1.0) scale -1.0 must be a positive number"), "\(error)")
        }
    }

    /// Export needs a PyTorch module for every layer; the spec says which layers lack one.
    func testLayersWithoutAPyTorchModuleAreNamed() throws {
        let spec = try spec(width: 4, classes: 3)
        XCTAssertNil(spec.pytorchSource)
        XCTAssertEqual(spec.layersWithoutPyTorchModule, ["1 (learnedShift)", "2 (scaled relu ×1.5)"])
    }
}
