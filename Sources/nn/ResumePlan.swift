import Foundation
import NNCore
import NNTrain

/// One checkpoint folder of a run (`epoch-003/` or `partial/`), read whole and checked to be
/// consistent: both files present and parseable, written by the folder's current run, and the model
/// and the training state saved at the same step (a kill between the two writes leaves them apart).
struct RunCheckpoint {
    let name: String
    let model: ModelCheckpoint.Description
    let state: TrainingState
    let tensors: [NamedTensor]
    let settings: RunSettings

    static let partialName = "partial"

    /// - Throws: a message saying why the folder cannot be resumed from.
    init(name: String, in directory: String, runID: String) throws {
        let folder = (directory as NSString).appendingPathComponent(name)
        self.name = name
        model = try ModelCheckpoint.describe(folder)
        let saved = try TrainingCheckpoint.read(directory: folder)
        state = saved.state
        tensors = saved.tensors
        let meta = model.metadata
        guard meta["run_id"] == runID else {
            throw CommandFailure.failed("\(folder) belongs to another run in this folder (run id \(meta["run_id"] ?? "none"), current \(runID))")
        }
        guard meta["step"] == String(state.globalStep) else {
            throw CommandFailure.failed("\(folder): the model (step \(meta["step"] ?? "?")) and the training state (step \(state.globalStep)) were saved at different steps; the run was killed while writing it")
        }
        if let epoch = ModelCheckpoint.epoch(ofDirectoryName: name), state.epoch != epoch || state.stepInEpoch != 0 {
            throw CommandFailure.failed("\(folder) holds the state after \(TrainCommand.describeProgress(epochs: state.epoch, steps: state.stepInEpoch, done: false)), not the end of epoch \(epoch)")
        }
        guard let settingsJSON = meta[RunSettings.metadataKey] else {
            throw CommandFailure.failed("\(folder) records no '\(RunSettings.metadataKey)', so the command that trained it is unknown")
        }
        settings = try RunSettings(json: settingsJSON, source: folder)
    }
}

/// How `nn train --resume RUN_DIR [--from-epoch K] [--set key=value …]` continues a run, worked out
/// and checked before anything in the folder changes:
///
/// - the checkpoint: the latest consistent one (the newest `epoch-NNN/`, or `partial/` when a
///   `--max-steps` stop left one that is newer), or `epoch-K/` with `--from-epoch K`;
/// - the command: the settings recorded in that checkpoint (so a rollback also returns to the
///   hyperparameters of epoch K), with the `--set` changes applied and validated;
/// - a rollback, when epoch K is older than the latest checkpoint: ``prepareFolder()`` then moves
///   everything after K (later `epoch-NNN/`, `partial/`, `best/`, `summary.json`, the metrics rows of
///   later epochs and the old learning curve) to `superseded/rollback-N-to-epoch-K/`.
struct ResumePlan {
    let directory: String
    let runID: String
    let checkpoint: RunCheckpoint
    let command: TrainCommand
    let changes: [RunSettings.Change]
    let isRollback: Bool

    init(directory: String, fromEpoch: Int?, sets: [String]) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure.failed("--resume \(directory): no such folder; pass the --out folder of an nn train run")
        }
        guard let runID = RunHistory(directory: directory).runID else {
            throw CommandFailure.failed(
                "--resume \(directory): no \(RunHistory.fileName) there, so it is not the --out folder of an nn train run (or an older nn wrote it)")
        }
        self.directory = directory
        self.runID = runID

        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let epochs = names.compactMap(ModelCheckpoint.epoch(ofDirectoryName:)).sorted(by: >)
        var problems: [String] = []
        func load(_ name: String) -> RunCheckpoint? {
            do {
                return try RunCheckpoint(name: name, in: directory, runID: runID)
            } catch {
                problems.append(Self.message(error))
                return nil
            }
        }
        var latest: RunCheckpoint?
        for epoch in epochs {
            latest = load(ModelCheckpoint.epochDirectoryName(epoch))
            if latest != nil { break }
        }
        if names.contains(RunCheckpoint.partialName), let partial = load(RunCheckpoint.partialName),
           partial.state.globalStep > latest?.state.globalStep ?? -1 {
            latest = partial
        }
        guard let latest else {
            let why = problems.isEmpty ? "no epoch has finished yet" : problems.joined(separator: "; ")
            throw CommandFailure.failed("--resume \(directory): no checkpoint to continue from (\(why)); start the run again")
        }

        var target = latest
        if let k = fromEpoch {
            guard k <= latest.state.epoch else {
                throw CommandFailure.usage("--from-epoch \(k): the run has completed \(Format.count(latest.state.epoch, "epoch")); choose 1…\(latest.state.epoch)")
            }
            if k != latest.state.epoch || latest.state.stepInEpoch != 0 {
                guard names.contains(ModelCheckpoint.epochDirectoryName(k)) else {
                    throw CommandFailure.failed("--from-epoch \(k): \(directory)/\(ModelCheckpoint.epochDirectoryName(k)) does not exist; roll back to an epoch that has a checkpoint")
                }
                do {
                    target = try RunCheckpoint(name: ModelCheckpoint.epochDirectoryName(k), in: directory, runID: runID)
                } catch {
                    throw CommandFailure.failed("--from-epoch \(k): \(Self.message(error))")
                }
            }
        }
        checkpoint = target
        isRollback = target.state.globalStep < latest.state.globalStep

        var settings = target.settings
        changes = try settings.apply(sets)
        command = try settings.command()
        try checkChanges(settings: settings)
    }

    /// Changes that the checkpoint's state cannot take, found before the folder is touched.
    private func checkChanges(settings: RunSettings) throws {
        let state = checkpoint.state
        for change in changes {
            switch change.key {
            case "batch" where state.stepInEpoch != 0:
                throw CommandFailure.usage(
                    "--set batch: \(checkpoint.name) stopped \(state.stepInEpoch) batches into epoch \(state.epoch + 1), and its remaining batches are counted in the old size; "
                        + "change the batch size at an epoch boundary (--from-epoch \(state.epoch) or after the epoch ends)")
            case "dropout" where (change.old == "1.0") != (change.new == "1.0"):
                throw CommandFailure.usage(
                    "--set keep=\(change.new): going between 1 (no dropout) and a keep probability below 1 adds or removes dropout layers, an architecture change "
                        + "(PyTorch layer numbers shift); only a run trained with dropout can change its keep probability")
            default: break
            }
        }
        if state.epoch >= command.epochs {
            throw CommandFailure.usage(
                "\(directory) has completed \(state.epoch) of its \(Format.count(command.epochs, "epoch")); continue it with --set epochs=N (N > \(state.epoch))"
                    + (changes.contains { $0.key == "epochs" } ? "" : " or roll back with --from-epoch K"))
        }
        if state.stoppedEarly {
            let patience = command.patience
            if patience > 0, state.epochsWithoutImprovement >= patience {
                throw CommandFailure.usage(
                    "\(directory) stopped early after \(Format.count(state.epochsWithoutImprovement, "epoch")) without dev improvement; "
                        + "continue it with --set patience=N (N > \(state.epochsWithoutImprovement), or 0 for no early stopping)")
            }
        }
    }

    /// Checks that the network the resumed command builds is the checkpoint's, up to the dropout keep
    /// probability (which changes no tensor).
    func checkArchitecture(_ spec: NetworkSpec) throws {
        func normalized(_ s: NetworkSpec) -> NetworkSpec {
            var copy = s
            copy.layers = s.layers.map { $0.definition(as: DropoutDefinition.self) == nil ? $0 : .dropout(keep: 0.5) }
            return copy
        }
        guard normalized(spec) == normalized(checkpoint.model.spec) else {
            throw CommandFailure.failed(
                "\(directory)/\(checkpoint.name) holds \(checkpoint.model.metadata[ModelCheckpoint.Key.architecture] ?? "another network"), "
                    + "but the resumed settings build a different one; was the data set changed? Architecture changes need a new run (--init \(directory)/best)")
        }
    }

    // MARK: Changing the folder

    /// Readies the folder for the continued run and returns the metrics lines still live.
    ///
    /// On a rollback everything after the checkpoint is moved (never deleted) to
    /// `superseded/rollback-N-to-epoch-K/`. On a plain resume, metrics rows the checkpoint does not
    /// cover (a partial epoch's row, or the row of an epoch killed before its checkpoint) are dropped
    /// and written again as training redoes them, and an older `partial/` is removed.
    func prepareFolder() throws -> (metrics: [String], archived: String?) {
        let fm = FileManager.default
        let completed = checkpoint.state.epoch
        let metricsPath = path("metrics.jsonl")
        let lines = ((try? String(contentsOfFile: metricsPath, encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        let isLive: (String) -> Bool = { line in
            guard let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let epoch = row["epoch"] as? Int else { return false }
            return (row["complete"] as? Bool ?? true) && epoch <= completed
        }
        let live = lines.filter(isLive)

        guard isRollback else {
            if checkpoint.name != RunCheckpoint.partialName, fm.fileExists(atPath: path(RunCheckpoint.partialName)) {
                try remove(RunCheckpoint.partialName)
            }
            return (live, nil)
        }

        let superseded = path("superseded")
        try createFolder(superseded)
        let existing = (try? fm.contentsOfDirectory(atPath: superseded)) ?? []
        let number = existing.filter { $0.hasPrefix("rollback-") }.count + 1
        let archiveName = "superseded/rollback-\(number)-to-epoch-\(completed)"
        let archive = path(archiveName)
        try createFolder(archive)
        let names = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
        var moving = names.filter { (ModelCheckpoint.epoch(ofDirectoryName: $0) ?? 0) > completed }
        moving += [RunCheckpoint.partialName, ModelCheckpoint.bestDirectoryName, "summary.json"].filter(names.contains)
        for name in moving {
            try move(path(name), to: (archive as NSString).appendingPathComponent(name))
        }
        if names.contains("learning-curve.svg") {
            try? fm.copyItem(atPath: path("learning-curve.svg"), toPath: (archive as NSString).appendingPathComponent("learning-curve.svg"))
        }
        let dropped = lines.filter { !isLive($0) }
        try AtomicFile.write(dropped.map { $0 + "\n" }.joined(), to: (archive as NSString).appendingPathComponent("metrics.jsonl"), followingSymlinks: false)
        return (live, archiveName)
    }

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    private func createFolder(_ folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure.failed("cannot create \(folder) (\(error.localizedDescription)); check the run folder is writable")
        }
    }

    private func move(_ source: String, to destination: String) throws {
        do {
            try FileManager.default.moveItem(atPath: source, toPath: destination)
        } catch {
            throw CommandFailure.failed("cannot move \(source) to \(destination) (\(error.localizedDescription)); check the run folder is writable")
        }
    }

    private func remove(_ name: String) throws {
        do {
            try FileManager.default.removeItem(atPath: path(name))
        } catch {
            throw CommandFailure.failed("cannot remove the superseded \(path(name)) (\(error.localizedDescription))")
        }
    }

    static func message(_ error: Error) -> String {
        if let failure = error as? CommandFailure { return failure.message }
        return String(describing: error)
    }
}
