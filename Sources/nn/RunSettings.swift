import ArgumentParser
import Foundation

/// The settings that define a training run, as `nn train` flags without their dashes
/// ("lr" → "0.001", "layers" → "512,256", "batchnorm" → "true").
///
/// Every checkpoint records the settings in effect when it was written (metadata `nn_train_settings`),
/// so `--resume` rebuilds exactly the command that trained it, `--set` changes a few of them, and a
/// rollback returns to the hyperparameters of the epoch it rolls back to. Run-level options that do not
/// change what is learned (`--backend`, `--out`, `--json`, `--no-progress`, `--max-steps`) are not settings.
struct RunSettings: Equatable {
    private(set) var values: [String: String]

    /// Metadata key of the settings in `model.safetensors`.
    static let metadataKey = "nn_train_settings"

    init(values: [String: String]) { self.values = values }

    /// Every settings key (`nn train` flag names without dashes; "shuffle" is `--no-shuffle`).
    static var known: Set<String> { Set(changeable.values).union(architecture).union(identity) }

    init(_ c: TrainCommand) {
        var v: [String: String] = [:]
        v["data"] = c.data
        v["test-data"] = c.testData
        v["labels"] = c.reading.labelsPath
        v["label-column"] = c.reading.labelColumn
        v["header"] = c.reading.header.rawValue
        v["delimiter"] = c.reading.delimiter.argument
        v["classes"] = c.reading.classes.map(String.init)
        v["npz-x"] = c.reading.npzFeatures
        v["npz-y"] = c.reading.npzLabels
        v["dev-size"] = c.devSize.argument
        v["split-seed"] = String(c.splitSeed)
        v["train-size"] = c.trainSize?.argument
        v["layers"] = c.layers.description
        v["batchnorm"] = String(c.batchnorm)
        v["dropout"] = "\(c.dropout)"
        v["activation"] = c.activation.rawValue
        v["weight-init"] = c.weightInit?.rawValue
        v["head"] = c.head.rawValue
        v["bn-beta"] = "\(c.batchNormBeta)"
        v["init"] = c.initFrom
        v["normalize"] = c.normalize.rawValue
        v["optimizer"] = c.optimizer.rawValue
        v["lr"] = "\(c.learningRate)"
        v["momentum"] = "\(c.momentum)"
        v["beta1"] = "\(c.beta1)"
        v["beta2"] = "\(c.beta2)"
        v["epsilon"] = "\(c.epsilon)"
        v["l2"] = "\(c.l2)"
        v["l1"] = "\(c.l1)"
        v["schedule"] = c.schedule.rawValue
        v["decay"] = "\(c.decay)"
        v["decay-rate"] = "\(c.decayRate)"
        v["decay-interval"] = String(c.decayInterval)
        v["decay-k"] = "\(c.decayK)"
        v["batch"] = String(c.batch)
        v["epochs"] = String(c.epochs)
        v["shuffle"] = String(!c.noShuffle)
        v["patience"] = String(c.patience)
        v["early-stopping-metric"] = c.earlyStoppingMetric.rawValue
        v["bayes-error"] = "\(c.bayesError)"
        v["seed"] = String(c.seed)
        values = v
    }

    /// The `nn train` arguments that reproduce these settings (Float and Double print their
    /// shortest round-trip form, so parsing them back gives the same bits).
    var arguments: [String] {
        var out: [String] = []
        for key in values.keys.sorted() {
            let value = values[key] ?? ""
            switch key {
            case "batchnorm": out.append(value == "true" ? "--batchnorm" : "--no-batchnorm")
            case "shuffle": if value != "true" { out.append("--no-shuffle") }
            // One token, so a value such as "-1" cannot be read as a flag.
            default: out.append("--\(key)=\(value)")
            }
        }
        return out
    }

    /// The command these settings describe, parsed and validated like a command line.
    func command() throws -> TrainCommand {
        do {
            return try TrainCommand.parse(arguments)
        } catch {
            throw CommandFailure.usage(TrainCommand.message(for: error))
        }
    }

    // MARK: Serialisation

    var json: String {
        var line = JSONLine()
        for key in values.keys.sorted() { line.add(key, values[key]) }
        return line.text
    }

    init(json text: String, source: String) throws {
        guard let decoded = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
            throw CommandFailure.failed("\(source): the '\(Self.metadataKey)' metadata is corrupt; this checkpoint cannot be resumed")
        }
        values = decoded
    }

    // MARK: Changes on resume

    /// One `--set` applied: the setting, its old and its new value.
    struct Change: Equatable {
        let key: String
        let old: String
        let new: String
    }

    /// Hyperparameters that may change when a run resumes, by their `--set` key. "keep" is the
    /// dropout keep probability (the `--dropout` flag).
    static let changeable: [String: String] = [
        "lr": "lr", "batch": "batch", "l2": "l2", "l1": "l1", "keep": "dropout", "dropout": "dropout",
        "decay": "decay", "decay-rate": "decay-rate", "decay-interval": "decay-interval", "decay-k": "decay-k",
        "momentum": "momentum", "beta1": "beta1", "beta2": "beta2", "epsilon": "epsilon",
        "epochs": "epochs", "patience": "patience", "bayes-error": "bayes-error",
    ]
    /// Settings that shape the network: its weights fit no other value.
    static let architecture: Set<String> = ["layers", "batchnorm", "activation", "head", "weight-init", "bn-beta"]

    /// Settings that define which run this is; changing them would make a different run.
    static let identity: Set<String> = [
        "data", "test-data", "labels", "label-column", "header", "delimiter", "classes", "npz-x", "npz-y", "dev-size", "split-seed",
        "train-size", "init", "normalize", "optimizer", "schedule", "shuffle", "early-stopping-metric", "seed",
    ]

    static var changeableList: String {
        "lr, batch, l2, l1, keep, decay, decay-rate, decay-interval, decay-k, momentum, beta1, beta2, epsilon, epochs, patience, bayes-error"
    }

    /// Applies `--set key=value` requests in order; returns what changed (a value set to what it
    /// already was is no change).
    ///
    /// - Throws: a usage error (exit 2) for a malformed request, an unknown key, an architecture
    ///   setting, or a setting that defines the run's identity (data, optimizer, seed, …).
    mutating func apply(_ requests: [String]) throws -> [Change] {
        var changes: [Change] = []
        for request in requests {
            guard let equals = request.firstIndex(of: "="), equals != request.startIndex else {
                throw CommandFailure.usage("--set \(request): expected KEY=VALUE, e.g. --set lr=3e-4")
            }
            let key = request[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = request[request.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty else { throw CommandFailure.usage("--set \(key)=: the value is missing, e.g. --set \(key)=…") }
            let flag = key.hasPrefix("--") ? String(key.dropFirst(2)) : key
            guard let setting = Self.changeable[flag] else {
                if Self.architecture.contains(flag) {
                    throw CommandFailure.usage(
                        "--set \(key): '\(flag)' changes the network's architecture, which a resumed run cannot do (the checkpoint's weights fit only its own); "
                            + "start a new run, optionally seeded with --init <run>/best")
                }
                if Self.identity.contains(flag) || flag == "no-shuffle" {
                    throw CommandFailure.usage(
                        "--set \(key): '\(flag)' defines the run (data, split, optimizer, schedule, seed, …) and cannot change when it resumes; "
                            + "changeable: \(Self.changeableList)")
                }
                throw CommandFailure.usage("--set \(key): unknown hyperparameter '\(flag)'; changeable: \(Self.changeableList)")
            }
            let old = values[setting] ?? ""
            values[setting] = value
            if let index = changes.firstIndex(where: { $0.key == setting }) {
                changes[index] = Change(key: setting, old: changes[index].old, new: value)
            } else {
                changes.append(Change(key: setting, old: old, new: value))
            }
        }
        // A value that parses to what it was ("3e-4" vs "0.0003") is no change.
        let parsed = try command()
        let canonical = RunSettings(parsed)
        values = canonical.values
        return changes.compactMap { change in
            let new = canonical.values[change.key] ?? change.new
            return new == change.old ? nil : Change(key: change.key, old: change.old, new: new)
        }
    }

    /// The keys whose values differ, sorted.
    func differences(from other: RunSettings) -> [String] {
        Set(values.keys).union(other.values.keys).filter { values[$0] != other.values[$0] }.sorted()
    }
}

extension RunSettings.Change {
    /// "lr 0.001→0.0003", with "keep" for the dropout keep probability.
    var label: String { "\(key == "dropout" ? "keep" : key) \(old)→\(new)" }
}

extension DevSize {
    /// The argument that parses back to exactly this size.
    var argument: String {
        switch self {
        case let .count(n): return String(n)
        case let .fraction(f): return "\(f)"
        }
    }
}
