import Foundation
import NNCore
import NNNative
import NNTrain
import XCTest

final class CheckpointTests: XCTestCase {
    private func sampleData(rows: Int, width: Int, classes: Int, seed: UInt64) throws -> Dataset {
        var generator = SeededGenerator(seed: seed)
        let features = (0..<(rows * width)).map { _ in Float(generator.nextGaussian()) * 3 + 5 }
        let labels = (0..<rows).map { _ in Int32(generator.next() % UInt64(classes)) }
        return try Dataset(features: features, labels: labels, width: width, classes: classes, name: "random")
    }

    /// A small network whose running statistics have moved away from their initial values.
    private func trainedLikeNetwork(backend: NativeBackend, data: Dataset) throws -> Network {
        let spec = try NetworkSpec.mlp(inputWidth: data.width, hidden: [8, 6], classes: data.classes, batchNorm: true, keepProbability: 0.8)
        let network = try Network(spec: spec, backend: backend, seed: 42)
        network.normalizer = try InputNormalizer.fit(data)
        network.mode = .training
        let batch = try backend.makeTensor(network.normalizer!.apply(data.features), shape: Shape(data.count, data.width))
        for _ in 0..<3 { _ = try network.forward(batch) }
        network.mode = .evaluation
        return network
    }

    func testSavedModelLoadsBackWithIdenticalPredictions() throws {
        let backend = NativeBackend(precision: .float32, threads: 1)
        let data = try sampleData(rows: 40, width: 5, classes: 3, seed: 7)
        let network = try trainedLikeNetwork(backend: backend, data: data)
        let before = try network.predictProbabilities(data)

        let dir = try TemporaryDirectory()
        try ModelCheckpoint.save(network, toDirectory: dir.path, metadata: ["dataset": "random"])
        let loaded = try ModelCheckpoint.load(dir.path, backend: backend)
        XCTAssertEqual(loaded.spec, network.spec)
        XCTAssertEqual(loaded.normalizer, network.normalizer)
        XCTAssertEqual(try loaded.predictProbabilities(data), before, "the same weights on the same backend must give bit-identical outputs")

        let description = try ModelCheckpoint.describe(dir.file(ModelCheckpoint.modelFileName))
        XCTAssertEqual(description.metadata["dataset"], "random")
        XCTAssertEqual(description.metadata[ModelCheckpoint.Key.format], ModelCheckpoint.formatName)
        XCTAssertTrue(description.metadata[ModelCheckpoint.Key.pytorchModule]?.contains("nn.BatchNorm1d(8") ?? false)
        // PyTorch names and layouts: Linear weight out × in, BatchNorm buffers, an I64 batch counter.
        let byName = Dictionary(uniqueKeysWithValues: description.tensors.map { ($0.name, $0) })
        XCTAssertEqual(byName["0.weight"]?.shape, [8, 5])
        XCTAssertNil(byName["0.bias"], "a dense layer followed by batch norm has no bias")
        XCTAssertEqual(byName["1.running_mean"]?.shape, [8])
        XCTAssertEqual(byName["1.num_batches_tracked"]?.dtype, .int64)
        XCTAssertEqual(byName["1.num_batches_tracked"]?.integers, [3])
    }

    /// A path names the model file, a checkpoint folder, or a run folder (its best epoch's, when it
    /// has no model of its own); anything else is passed on, for the reader to name as missing.
    func testModelPathResolvesFilesCheckpointsAndRunFolders() throws {
        let dir = try TemporaryDirectory()
        let model = ModelCheckpoint.modelFileName, best = ModelCheckpoint.bestDirectoryName
        for folder in ["run/\(best)", "run/epoch-001", "checkpoint"] {
            try FileManager.default.createDirectory(atPath: dir.file(folder), withIntermediateDirectories: true)
            try Data().write(to: URL(fileURLWithPath: dir.file("\(folder)/\(model)")))
        }
        try FileManager.default.createDirectory(atPath: dir.file("unfinished/epoch-001"), withIntermediateDirectories: true)
        XCTAssertEqual(ModelCheckpoint.modelPath(for: dir.file("run")), dir.file("run/\(best)/\(model)"))
        XCTAssertEqual(ModelCheckpoint.modelPath(for: dir.file("run/epoch-001")), dir.file("run/epoch-001/\(model)"))
        XCTAssertEqual(ModelCheckpoint.modelPath(for: dir.file("checkpoint")), dir.file("checkpoint/\(model)"))
        XCTAssertEqual(ModelCheckpoint.modelPath(for: dir.file("checkpoint/\(model)")), dir.file("checkpoint/\(model)"))
        XCTAssertEqual(ModelCheckpoint.modelPath(for: dir.file("unfinished")), dir.file("unfinished/\(model)"))
        XCTAssertEqual(ModelCheckpoint.modelPath(for: dir.file("missing")), dir.file("missing"))
        XCTAssertThrowsMessage(try ModelCheckpoint.describe(dir.file("unfinished")), "holds no \(model)",
                               "e.g. \(dir.file("unfinished/epoch-001"))")
    }

    func testCheckpointOfAnotherArchitectureIsAClearError() throws {
        let backend = NativeBackend(precision: .float32, threads: 1)
        let data = try sampleData(rows: 20, width: 5, classes: 3, seed: 1)
        let network = try trainedLikeNetwork(backend: backend, data: data)
        let dir = try TemporaryDirectory()
        try ModelCheckpoint.save(network, toDirectory: dir.path)

        let other = try Network(spec: NetworkSpec.mlp(inputWidth: 5, hidden: [16], classes: 3), backend: backend)
        XCTAssertThrowsMessage(try ModelCheckpoint.loadWeights(into: other, from: dir.path), "checkpoint of another architecture", "--layers",
                               network.describeArchitecture(), other.describeArchitecture())

        // What only shapes training (the initialiser, batch norm's running-average β) may differ: the weights fit.
        let layers = network.spec.layers.map { layer -> LayerSpec in
            if let dense = layer.definition(as: DenseDefinition.self) { return .dense(units: dense.units, initializer: .xavier) }
            if layer.definition(as: BatchNormDefinition.self) != nil { return .batchNorm(epsilon: 1e-5, averagingBeta: 0.5) }
            return layer
        }
        let retuned = try NetworkSpec(inputWidth: 5, layers: layers, classes: 3)
        XCTAssertNotEqual(retuned, network.spec)
        let seeded = try Network(spec: retuned, backend: backend, seed: 7)
        try ModelCheckpoint.loadWeights(into: seeded, from: dir.path)
        seeded.normalizer = network.normalizer
        XCTAssertEqual(try seeded.predictProbabilities(data), try network.predictProbabilities(data))

        // A bare state dict (as exported from PyTorch, no metadata) of the wrong shape names the tensors.
        let bare = dir.file("bare.safetensors")
        try SafeTensors.write(network.namedTensors(), to: bare)
        XCTAssertThrowsMessage(try ModelCheckpoint.loadWeights(into: other, from: bare), "does not fit", "0.weight")
        XCTAssertThrowsMessage(try ModelCheckpoint.describe(bare), "architecture is unknown", "--init")
    }

    func testBareStateDictSeedsAMatchingNetwork() throws {
        let backend = NativeBackend(precision: .float32, threads: 1)
        let data = try sampleData(rows: 20, width: 5, classes: 3, seed: 2)
        let network = try trainedLikeNetwork(backend: backend, data: data)
        let dir = try TemporaryDirectory()
        let bare = dir.file("exported.safetensors")
        try SafeTensors.write(network.namedTensors(), to: bare)
        let fresh = try Network(spec: network.spec, backend: backend, seed: 999)
        fresh.normalizer = network.normalizer
        try ModelCheckpoint.loadWeights(into: fresh, from: bare)
        XCTAssertEqual(try fresh.predictProbabilities(data), try network.predictProbabilities(data))
    }

    func testTruncatedModelFileIsAClearError() throws {
        let backend = NativeBackend(precision: .float32, threads: 1)
        let data = try sampleData(rows: 20, width: 5, classes: 3, seed: 3)
        let network = try trainedLikeNetwork(backend: backend, data: data)
        let dir = try TemporaryDirectory()
        try ModelCheckpoint.save(network, toDirectory: dir.path)
        let path = dir.file(ModelCheckpoint.modelFileName)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsMessage(try ModelCheckpoint.load(dir.path, backend: backend), "model.safetensors", "truncated or corrupt")
    }

    func testTrainingStateRoundTripsExactly() throws {
        let backend = NativeBackend(precision: .float32, threads: 1)
        let data = try sampleData(rows: 30, width: 4, classes: 3, seed: 4)
        let spec = try NetworkSpec.mlp(inputWidth: 4, hidden: [6], classes: 3, keepProbability: 0.9)
        // A seed whose derived dropout key exceeds Int64.max: JSON numbers must still round-trip exactly.
        let network = try Network(spec: spec, backend: backend, seed: 1)
        var config = TrainingConfig()
        config.epochs = 1
        config.batchSize = 8
        let trainer = try Trainer(network: network, config: config)
        try trainer.fit(train: data)
        let dir = try TemporaryDirectory()
        try TrainingCheckpoint.save(trainer: trainer, toDirectory: dir.path)
        let saved = try TrainingCheckpoint.read(directory: dir.path)
        XCTAssertEqual(saved.state, trainer.state)
        XCTAssertEqual(saved.config, config)
        XCTAssertEqual(saved.tensors.map(\.name).sorted(), try trainer.stateTensors().map(\.name).sorted())
        XCTAssertTrue(saved.tensors.allSatisfy { $0.name.hasPrefix("optimizer.") })
    }
}
