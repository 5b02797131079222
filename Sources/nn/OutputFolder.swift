import Foundation
import NNCore
import NNTrain

/// The `--out` folder of a new run: chosen when none is given, refused when it already holds
/// another run (whose epochs would otherwise sit beside the new run's), cleared on `--overwrite`.
enum OutputFolder {
    /// Entries a run writes at the top of its folder, besides its `epoch-NNN/` checkpoints.
    static let runEntries: Set<String> = [
        "metrics.jsonl", "history.jsonl", "summary.json", "learning-curve.svg", ModelCheckpoint.bestDirectoryName, RunCheckpoint.partialName, "superseded",
    ]

    static func isRunEntry(_ name: String) -> Bool {
        runEntries.contains(name) || ModelCheckpoint.epoch(ofDirectoryName: name) != nil
    }

    /// The run files in `directory`, sorted (empty when it does not exist).
    static func runEntries(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter(isRunEntry).sorted()
    }

    /// `runs/<date>-<time>` in local time, with a suffix if a run of the same second has it.
    static func fresh(now: Date = Date(), root: String = "runs") -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let base = (root as NSString).appendingPathComponent(formatter.string(from: now))
        var candidate = base
        var n = 2
        while FileManager.default.fileExists(atPath: candidate) {
            candidate = "\(base)-\(n)"
            n += 1
        }
        return candidate
    }

    /// Throws unless `directory` can take a new run: it must not hold another run's files, unless
    /// `overwrite` is set (they are removed later, by ``clear(_:)``, once the new run has started).
    static func checkForNewRun(_ directory: String, overwrite: Bool) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else {
            throw CommandFailure.usage("--out \(directory) is a file, not a folder; choose another --out")
        }
        let existing = runEntries(in: directory)
        guard !existing.isEmpty, !overwrite else { return }
        throw CommandFailure.usage(
            "--out \(directory) holds another run (\(summarize(existing, in: directory))); continue it with --resume \(directory), "
                + "replace it with --overwrite (its run files are deleted), or choose another --out")
    }

    /// The lock file inside a run folder: held by the `nn train` writing into it (see ``FileLock``).
    static let lockName = ".lock"

    /// Locks `directory` (which exists) for this run, or says which process is using it. `option`
    /// names where the folder came from (--out, --resume) for the message when it is a file.
    static func lock(_ directory: String, option: String = "--out") throws -> FileLock {
        try refuseNonRunFolder(directory, option: option)
        let path = (directory as NSString).appendingPathComponent(lockName)
        do {
            return try FileLock(path: path)
        } catch .held(let pid) {
            throw CommandFailure.failed(
                "\(directory) is in use by another nn train (\(pid.map { "pid \($0)" } ?? "pid unknown")); "
                    + "wait for it to finish, or choose another --out")
        } catch .unavailable(let reason) {
            throw CommandFailure.failed("cannot lock \(path) (\(reason)); check the folder is writable")
        }
    }

    /// Refuses, before a lock file is written into it, what cannot be a run folder: a file, or a
    /// checkpoint folder (runs/x/best, runs/x/epoch-003), whose model a run would sit beside.
    static func refuseNonRunFolder(_ directory: String, option: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else {
            throw CommandFailure.usage("\(option) \(directory) is a file, not a run folder; give a folder")
        }
        let held = [ModelCheckpoint.modelFileName, ModelCheckpoint.trainingStateFileName]
            .filter { FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent($0)) }
        guard !held.isEmpty else { return }
        let fix = option == "--resume"
            ? "give the run folder that holds it (\((directory as NSString).deletingLastPathComponent)), with --from-epoch N to go back to an epoch"
            : "choose another --out"
        throw CommandFailure.usage("\(option) \(directory) is a checkpoint folder (it holds \(held.joined(separator: " and "))), not a run folder; \(fix)")
    }

    /// Creates and locks the folder of a new run, then checks again that no other run got there first.
    static func lockNew(_ directory: String, overwrite: Bool) throws -> FileLock {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure.failed("cannot create the output folder \(directory) (\(error.localizedDescription)); choose another --out")
        }
        let lock = try lock(directory)
        try checkForNewRun(directory, overwrite: overwrite)
        return lock
    }

    /// Removes the temporaries of writes a killed run left, in the folder and in its checkpoint
    /// folders (nowhere else: `--out` may sit among the user's own files).
    static func removeLeftovers(in directory: String) -> [String] {
        var removed = AtomicDirectory.removeLeftovers(in: directory)
        for name in runEntries(in: directory) {
            let path = (directory as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
                  (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil else { continue }
            removed += AtomicDirectory.removeLeftovers(in: path)
        }
        return removed
    }

    /// Removes an earlier run's files (only those a run writes; anything else in the folder stays).
    static func clear(_ directory: String) throws {
        for name in runEntries(in: directory) {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                try FileManager.default.removeItem(atPath: path)
            } catch {
                throw CommandFailure.failed("--overwrite: cannot remove \(path) (\(error.localizedDescription)); check the folder is writable")
            }
        }
    }

    /// "metrics.jsonl, best/, epoch-001/ … epoch-010/ (10 checkpoints)": folders marked with a
    /// slash, consecutive epoch checkpoints folded into a range.
    static func summarize(_ names: [String], in directory: String? = nil) -> String {
        let epochs = names.compactMap(ModelCheckpoint.epoch(ofDirectoryName:)).sorted()
        var parts: [String] = names.filter { ModelCheckpoint.epoch(ofDirectoryName: $0) == nil }.map { name in
            guard let directory else { return name }
            var isDirectory: ObjCBool = false
            let path = (directory as NSString).appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue ? name + "/" : name
        }
        if let first = epochs.first, let last = epochs.last {
            parts.append(epochs.count == 1
                ? ModelCheckpoint.epochDirectoryName(first) + "/"
                : "\(ModelCheckpoint.epochDirectoryName(first))/ … \(ModelCheckpoint.epochDirectoryName(last))/ (\(epochs.count) checkpoints)")
        }
        return parts.joined(separator: ", ")
    }
}
