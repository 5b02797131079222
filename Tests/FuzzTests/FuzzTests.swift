import Foundation
import NNCore
import NNData
import NNNative
import NNTrain
import NNTune
import XCTest

/// A fuzz target per file format nn reads, each fed 2,000 seeded mutants of valid files (see
/// ``FuzzHarness``). Every target goes through the same entry point as the command line, so what is
/// checked is what a user's damaged file meets: the reader, the data-set assembly, the checkpoint's
/// validation and the network built from it.
final class FuzzTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nn-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    // MARK: Data files, through DataLoader as `nn train --data` reads them

    func testIDX() throws {
        try fuzzDataFile("images.idx", seeds: ["images.idx"], labels: "labels.idx")
    }

    func testGzippedIDX() throws {
        try fuzzDataFile("images.idx.gz", seeds: ["images.idx.gz"], labels: "labels.idx")
    }

    func testIDXLabels() throws {
        let images = scratch.appendingPathComponent("images.idx").path
        try FileManager.default.copyItem(atPath: Seeds.path("images.idx"), toPath: images)
        let labels = scratch.appendingPathComponent("labels.idx").path
        FuzzHarness.run("idx-labels", seeds: [try Seeds.bytes("labels.idx")]) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: labels))
            _ = try DataLoader.load(images, options: DataLoadOptions(labelsPath: labels))
        }
    }

    func testNPY() throws {
        try fuzzDataFile("features.npy", seeds: ["features.npy"], labels: "labels.npy")
    }

    func testNPZ() throws {
        try fuzzDataFile("data.npz", seeds: ["data.npz", "compressed.npz"])
    }

    func testCSV() throws {
        try fuzzDataFile("data.csv", seeds: ["numbers.csv", "header.csv"], layout: .text)
    }

    private func fuzzDataFile(_ name: String, seeds: [String], labels: String? = nil, layout: Mutator.Layout = .binary) throws {
        let path = scratch.appendingPathComponent(name).path
        var options = DataLoadOptions()
        if let labels {
            options.labelsPath = scratch.appendingPathComponent(labels).path
            try FileManager.default.copyItem(atPath: Seeds.path(labels), toPath: options.labelsPath!)
        }
        FuzzHarness.run(name, seeds: try seeds.map(Seeds.bytes), layout: layout) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            _ = try DataLoader.load(path, options: options)
        }
    }

    // MARK: Checkpoints

    /// `nn eval --model` / `nn predict --model`: describe, build, load and run the model.
    func testModelCheckpoint() throws {
        let seeds = try CheckpointSeeds.models()
        let path = scratch.appendingPathComponent("model.safetensors").path
        FuzzHarness.run("model.safetensors", seeds: seeds, layout: .safetensors) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let network = try ModelCheckpoint.load(path, backend: CheckpointSeeds.backend)
            _ = try network.predict([[Float](repeating: 0.5, count: network.spec.inputWidth)])
        }
    }

    /// `nn train --init`: weights (and a normaliser) into a network built from the command line.
    func testInitialWeights() throws {
        let seeds = try CheckpointSeeds.models()
        let path = scratch.appendingPathComponent("init.safetensors").path
        let network = try CheckpointSeeds.network(batchNorm: true)
        FuzzHarness.run("init.safetensors", seeds: [seeds[0]], layout: .safetensors) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            if let normalizer = try ModelCheckpoint.loadWeights(into: network, from: path) { network.normalizer = normalizer }
            _ = try network.predict([[Float](repeating: 0.5, count: network.spec.inputWidth)])
        }
    }

    /// `nn train --resume`: the training state restored into a trainer, which then trains on.
    func testTrainingState() throws {
        let folder = scratch.appendingPathComponent("epoch-001").path
        let seed = try CheckpointSeeds.trainingState(in: folder)
        let statePath = (folder as NSString).appendingPathComponent(ModelCheckpoint.trainingStateFileName)
        let data = try CheckpointSeeds.data()
        FuzzHarness.run("training-state.safetensors", seeds: [seed], layout: .safetensors) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: statePath))
            let network = try ModelCheckpoint.load(folder, backend: CheckpointSeeds.backend)
            network.mode = .training
            let trainer = try Trainer(network: network, config: CheckpointSeeds.config)
            try TrainingCheckpoint.restore(trainer, fromDirectory: folder)
            _ = try trainer.fit(train: data, dev: data)
        }
    }

    // MARK: Search spaces

    /// `nn tune run --space`: read, validated, and sampled from (a draw and its `nn train` arguments),
    /// since sizes that pass the parser are only used when a trial is drawn.
    func testSearchSpace() throws {
        let path = scratch.appendingPathComponent("space.json").path
        FuzzHarness.run("space.json", seeds: try ["space.json", "space-objects.json"].map(Seeds.bytes), layout: .text) { bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let space = try SearchSpace(contentsOf: path)
            let draws = RandomSampler(seed: 1).assignments(round: 0, count: 3, box: space.fullBox, space: space)
            for assignment in draws { _ = Hyperparameter.trainArguments(for: assignment) }
        }
    }

    /// The raw container, as `nn export` and every checkpoint reader parse it first.
    func testSafeTensorsContainer() throws {
        FuzzHarness.run("safetensors", seeds: try CheckpointSeeds.models(), layout: .safetensors) { bytes in
            _ = try SafeTensors.parse(bytes, source: "fuzz")
        }
    }
}

/// The seed files kept in `Tests/FuzzTests/Seeds` (small, valid, one per layout a reader handles).
enum Seeds {
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Seeds/\(name)").path
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }
}

/// Valid checkpoints made fresh by the current code, so the seeds follow any format change.
enum CheckpointSeeds {
    static let backend = NativeBackend(precision: .float32, threads: 1)

    static func network(batchNorm: Bool) throws -> Network {
        let spec = batchNorm
            ? try NetworkSpec.mlp(inputWidth: 4, hidden: [5], classes: 3, batchNorm: true, keepProbability: 0.8)
            : try NetworkSpec.mlp(inputWidth: 4, hidden: [3, 2], classes: 2, activation: .tanh, batchNorm: false, head: .sigmoid)
        return try Network(spec: spec, backend: backend, seed: 3)
    }

    /// Eight rows of four features, three classes.
    static func data() throws -> Dataset {
        let features = (0..<32).map { Float($0 % 7) - 2.5 }
        return try Dataset(features: features, labels: [0, 1, 2, 0, 1, 2, 0, 1], width: 4, classes: 3, name: "fuzz")
    }

    static var config: TrainingConfig {
        var config = TrainingConfig()
        config.epochs = 2
        config.batchSize = 4
        config.optimizer = .adam
        config.earlyStopping = EarlyStopping(metric: .devLoss, patience: 2)
        config.evaluateTrainingSetAtEnd = false
        return config
    }

    /// A model with batch norm, dropout, a normaliser and class names; one with a sigmoid head and none of them.
    static func models() throws -> [[UInt8]] {
        let first = try network(batchNorm: true)
        first.normalizer = try InputNormalizer.fit(data())
        first.classNames = ["ant", "bee", "cat"]
        let second = try network(batchNorm: false)
        return try [first, second].map { network in
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("nn-fuzz-seed-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try ModelCheckpoint.save(network, toFile: path)
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    /// Trains one epoch of two, saves the checkpoint in `folder`, and returns the training state's bytes.
    static func trainingState(in folder: String) throws -> [UInt8] {
        let network = try network(batchNorm: true)
        var config = config
        config.epochs = 1
        let trainer = try Trainer(network: network, config: config)
        _ = try trainer.fit(train: data(), dev: data())
        try ModelCheckpoint.save(network, toDirectory: folder)
        try TrainingCheckpoint.save(trainer: trainer, toDirectory: folder)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(ModelCheckpoint.trainingStateFileName))))
    }
}
