import Foundation
import NNCore

/// Saves and loads trained models as safetensors files that PyTorch loads as they are.
///
/// A checkpoint is a directory holding up to two files:
///
/// - `model.safetensors`: exactly the network's state dict under PyTorch `nn.Sequential` names and
///   layouts (`0.weight` out × in, `1.running_var`, `1.num_batches_tracked` as I64, …), so
///   `seq.load_state_dict(safetensors.torch.load_file(path), strict=True)` works on the module printed
///   in the `pytorch_module` metadata entry. The metadata also carries the architecture (`network_spec`,
///   JSON of ``NetworkSpec``) and the input normaliser (`input_normalizer`, JSON of ``InputNormalizer``:
///   PyTorch users apply `(x - mean) / std` themselves).
/// - `training-state.safetensors` (training checkpoints only): optimiser state tensors, and in its
///   metadata the scalar training state (epoch, step, schedule, RNG, …). It is a separate file because
///   PyTorch's strict loading rejects any tensor that is not a module parameter or buffer.
///
/// Both are written atomically; a truncated or corrupt file, or one saved for another architecture,
/// is a clear error on load.
public enum ModelCheckpoint {
    /// The model file inside a checkpoint folder.
    public static let modelFileName = "model.safetensors"
    /// The checkpoint folder of a run's best epoch, inside the run folder `nn train --out` writes.
    public static let bestDirectoryName = "best"

    /// The checkpoint folder of epoch `epoch` (from 1) inside a run folder: `epoch-003`.
    public static func epochDirectoryName(_ epoch: Int) -> String { String(format: "epoch-%03d", epoch) }

    /// The epoch of an `epoch-NNN` checkpoint folder name, nil for any other name.
    public static func epoch(ofDirectoryName name: String) -> Int? {
        guard name.hasPrefix("epoch-"), let n = Int(name.dropFirst(6)), n >= 1 else { return nil }
        return n
    }
    /// The training-state file inside a checkpoint folder (``TrainingCheckpoint``).
    public static let trainingStateFileName = "training-state.safetensors"

    /// Metadata keys in `model.safetensors`.
    public enum Key {
        /// Metadata key of the format name.
        public static let format = "format"
        /// Metadata key of the format version.
        public static let formatVersion = "format_version"
        /// Metadata key of the architecture, JSON of ``NetworkSpec``.
        public static let networkSpec = "network_spec"
        /// Metadata key of the input normaliser, JSON of ``InputNormalizer``.
        public static let inputNormalizer = "input_normalizer"
        /// Metadata key of the PyTorch `nn.Sequential` source that loads the weights.
        public static let pytorchModule = "pytorch_module"
        /// Metadata key of the one-line architecture summary.
        public static let architecture = "architecture"
        /// JSON array of the class names in output order, when the labels were text.
        public static let classNames = "class_names"
    }

    /// The format name written under ``Key/format``.
    public static let formatName = "swiftnn.model"
    /// The format version written under ``Key/formatVersion``.
    public static let currentVersion = "1"

    /// What a model file says about itself, read without building a network.
    public struct Description: Sendable {
        /// The saved architecture.
        public var spec: NetworkSpec
        /// The saved input normaliser (nil for a model trained on raw inputs).
        public var normalizer: InputNormalizer?
        /// The class names in output order, when the model was trained on text labels.
        public var classNames: [String]?
        /// Every metadata entry of the file.
        public var metadata: [String: String]
        /// The weights and buffers, under PyTorch names.
        public var tensors: [NamedTensor]
    }

    /// The model file for a user-given path: the file itself, `model.safetensors` inside a checkpoint
    /// directory, or, for a run folder (`nn train --out DIR`, which holds no model itself), its best
    /// epoch's, `DIR/best/model.safetensors`.
    public static func modelPath(for path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return path }
        let own = (path as NSString).appendingPathComponent(modelFileName)
        let best = ((path as NSString).appendingPathComponent(bestDirectoryName) as NSString).appendingPathComponent(modelFileName)
        return !FileManager.default.fileExists(atPath: own) && FileManager.default.fileExists(atPath: best) ? best : own
    }

    /// Reads the model file ``modelPath(for:)`` chooses for `path`; a folder that holds none (a run
    /// stopped before its first epoch ended, or a wrong folder) is named with what to give instead.
    private static func readModel(at path: String) throws -> (file: String, contents: SafeTensors.Contents) {
        let file = modelPath(for: path)
        // modelPath changes only a folder's path.
        if file != path, !FileManager.default.fileExists(atPath: file) {
            let latest = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).compactMap(epoch(ofDirectoryName:)).max()
            throw NNError.invalidData(
                source: path,
                detail: "holds no \(modelFileName) (nor \(bestDirectoryName)/\(modelFileName)); "
                    + (latest.map { "give one of its checkpoint folders, e.g. \((path as NSString).appendingPathComponent(epochDirectoryName($0)))" }
                        ?? "give a checkpoint folder (such as runs/x/best) or a model file"))
        }
        return (file, try SafeTensors.read(path: file))
    }

    // MARK: Saving

    /// Writes `network` (weights, running statistics, architecture, normaliser) to `directory/model.safetensors`.
    /// `metadata` adds free-form entries (data set name, accuracy, …).
    public static func save(_ network: Network, toDirectory directory: String, metadata: [String: String] = [:]) throws {
        try createDirectory(directory)
        try save(network, toFile: (directory as NSString).appendingPathComponent(modelFileName), metadata: metadata)
    }

    /// Writes `network` to the model file at `path` (see ``save(_:toDirectory:metadata:)``).
    public static func save(_ network: Network, toFile path: String, metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta[Key.format] = formatName
        meta[Key.formatVersion] = currentVersion
        meta[Key.networkSpec] = try json(network.spec)
        if let normalizer = network.normalizer { meta[Key.inputNormalizer] = try json(normalizer) }
        if let names = network.classNames {
            try Dataset.checkClassNames(names, classes: network.spec.classes, source: path)
            meta[Key.classNames] = try json(names)
        }
        // A network with a layer PyTorch lacks still saves; only export needs the module.
        if let module = network.spec.pytorchSource { meta[Key.pytorchModule] = module }
        meta[Key.architecture] = network.describeArchitecture()
        let tensors = try network.namedTensors()
        try NamedTensor.checkFinite(tensors, saving: "the model")
        try SafeTensors.write(tensors, metadata: meta, to: path)
    }

    // MARK: Loading

    /// Reads a model file (or checkpoint directory) and its architecture.
    ///
    /// - Throws: a clear error when the file is missing, corrupt, or lacks the architecture metadata
    ///   (a bare state dict exported from PyTorch can still seed a network: see ``loadWeights(into:from:)``).
    public static func describe(_ path: String) throws -> Description {
        let (file, contents) = try readModel(at: path)
        guard let specJSON = contents.metadata[Key.networkSpec] else {
            throw NNError.invalidData(
                source: file,
                detail: "has no '\(Key.networkSpec)' metadata, so the architecture is unknown; it was not saved by nn. "
                    + "To start from weights exported elsewhere, train with --init \(file) and the matching --layers")
        }
        let spec: NetworkSpec
        do {
            spec = try JSONDecoder().decode(NetworkSpec.self, from: Data(specJSON.utf8))
        } catch {
            throw NNError.invalidData(source: file, detail: "the '\(Key.networkSpec)' metadata is not a valid architecture (\(error)); the file is corrupt")
        }
        do {
            try spec.validate()
        } catch let error as NNError {
            throw NNError.invalidData(source: file, detail: "the '\(Key.networkSpec)' metadata describes no usable network: \(error.description)")
        }
        try spec.checkTensors(contents.tensors, source: file,
                              architecture: contents.metadata[Key.architecture] ?? "the architecture in its '\(Key.networkSpec)' metadata")
        var normalizer: InputNormalizer?
        if let text = contents.metadata[Key.inputNormalizer] {
            do {
                normalizer = try JSONDecoder().decode(InputNormalizer.self, from: Data(text.utf8))
            } catch {
                throw NNError.invalidData(source: file, detail: "the '\(Key.inputNormalizer)' metadata is corrupt (\(error))")
            }
            guard normalizer?.width == spec.inputWidth else {
                throw NNError.invalidData(
                    source: file, detail: "the input normaliser has \(normalizer?.width ?? 0) features but the network takes \(spec.inputWidth)")
            }
        }
        var classNames: [String]?
        if let text = contents.metadata[Key.classNames] {
            guard let names = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
                throw NNError.invalidData(source: file, detail: "the '\(Key.classNames)' metadata is not a JSON array of strings; the file is corrupt")
            }
            try Dataset.checkClassNames(names, classes: spec.classes, source: "\(file), metadata '\(Key.classNames)'")
            classNames = names
        }
        return Description(spec: spec, normalizer: normalizer, classNames: classNames, metadata: contents.metadata,
                           tensors: contents.tensors)
    }

    /// Builds the saved network on `backend`, with its weights and normaliser, in evaluation mode.
    public static func load(_ path: String, backend: any Backend) throws -> Network {
        let description = try describe(path)
        let network = try Network(spec: description.spec, backend: backend)
        try network.load(namedTensors: description.tensors, source: modelPath(for: path))
        network.normalizer = description.normalizer
        network.classNames = description.classNames
        network.mode = .evaluation
        return network
    }

    /// Replaces `network`'s weights with those in `path` (a checkpoint of nn, or a state dict saved from
    /// PyTorch with `safetensors.torch.save_file(seq.state_dict(), path)`).
    ///
    /// - Throws: when the file records a different architecture, or any tensor is missing, unexpected or
    ///   misshapen; the network is then unchanged. Returns the file's normaliser, if it has one.
    @discardableResult
    public static func loadWeights(into network: Network, from path: String) throws -> InputNormalizer? {
        let (file, contents) = try readModel(at: path)
        // Only what the weights are must match: another initialiser or batch-norm β starts from them just as well.
        if let specJSON = contents.metadata[Key.networkSpec],
           let saved = try? JSONDecoder().decode(NetworkSpec.self, from: Data(specJSON.utf8)),
           saved.architectureDescription != network.spec.architectureDescription {
            let savedNetwork = saved.architectureDescription
            throw NNError.invalidData(
                source: file,
                detail: "checkpoint of another architecture: it holds \(savedNetwork) but this network is \(network.describeArchitecture()); "
                    + "use the same --layers, --batchnorm, --activation, --dropout and data set as the run that saved it")
        }
        try network.load(namedTensors: contents.tensors, source: file)
        if let text = contents.metadata[Key.inputNormalizer],
           let normalizer = try? JSONDecoder().decode(InputNormalizer.self, from: Data(text.utf8)),
           normalizer.width == network.spec.inputWidth {
            return normalizer
        }
        return nil
    }

    /// A checkpoint folder is created on save (with its parents, as `torch.save` users expect of a folder API).
    static func createDirectory(_ directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw NNError.invalidData(source: directory, detail: "cannot create the checkpoint folder (\(error.localizedDescription)); check the path is writable")
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
