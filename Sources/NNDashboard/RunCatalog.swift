import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The training runs under a root folder, read from the files `nn train` writes into each run
/// folder (`metrics.jsonl`, `history.jsonl`, `summary.json`; see docs/nn-train-output.md). A folder
/// is a run when it holds `history.jsonl` or `metrics.jsonl`; the search does not descend into runs,
/// into study folders' `trials/` (their runs belong to the study's page), or through links.
struct RunCatalog: Sendable {
    let paths: SafePath

    /// How deep below the root run folders are looked for (`runs/exp/variant/` is depth 2).
    static let maximumDepth = 4

    /// Seconds since the last write after which a run without a summary counts as stopped, not running.
    static let runningWindow: TimeInterval = 120

    /// Every run, by id.
    func runs() -> [RunRecord] {
        var found: [RunRecord] = []
        walk(paths.root, depth: 0, into: &found)
        return found.sorted { $0.id < $1.id }
    }

    /// One run by its id (the folder's path under the root), or nil when it is no run or unsafe.
    func run(id: String) -> RunRecord? {
        let segments = id.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let path = paths.resolve(segments), RunRecord.isRunFolder(path) else { return nil }
        return RunRecord(path: path, id: paths.id(of: path))
    }

    private func walk(_ folder: String, depth: Int, into found: inout [RunRecord]) {
        if RunRecord.isRunFolder(folder), folder != paths.root {
            found.append(RunRecord(path: folder, id: paths.id(of: folder)))
            return
        }
        guard depth < Self.maximumDepth,
              let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        let isStudy = names.contains(StudyCatalog.databaseName)
        for name in names.sorted() where !name.hasPrefix(".") && !(isStudy && name == "trials") {
            let child = (folder as NSString).appendingPathComponent(name)
            var status = stat()
            guard lstat(child, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else { continue }
            walk(child, depth: depth + 1, into: &found)
        }
    }
}

/// One run folder, read once: every page and JSON answer built from it sees one consistent
/// snapshot, and no file is read twice for one request.
struct RunRecord {
    let path: String
    let id: String
    /// Complete epochs of the live history, in order (a partial epoch's row is left out).
    let epochs: [[String: Any]]
    let events: [[String: Any]]
    let summary: [String: Any]?
    /// When each of the run's files last changed.
    private let modified: [String: Date]

    static let files = ["metrics.jsonl", "history.jsonl", "summary.json"]

    init(path: String, id: String) {
        self.path = path
        self.id = id
        func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
        epochs = JSONLines.read(file("metrics.jsonl")).filter { ($0["complete"] as? Bool) ?? true }
        events = JSONLines.read(file("history.jsonl"))
        summary = JSONLines.read(file("summary.json")).last
        var modified: [String: Date] = [:]
        for name in Self.files {
            modified[name] = (try? FileManager.default.attributesOfItem(atPath: file(name)))?[.modificationDate] as? Date
        }
        self.modified = modified
    }

    static func isRunFolder(_ path: String) -> Bool {
        ["history.jsonl", "metrics.jsonl"].contains { SafePath.isRegularFile((path as NSString).appendingPathComponent($0)) }
    }

    /// The settings of the run's latest start (`nn train` flags without dashes).
    var settings: [String: String] {
        let start = events.last { $0["event"] as? String == "start" }
        return (start?["settings"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
    }

    /// Resumes and rollbacks since the latest start, for the markers on the curves.
    var markers: [(epoch: Double, label: String)] {
        var live: [(epoch: Double, label: String)] = []
        for event in events {
            guard let kind = event["event"] as? String, let epoch = event["epoch"] as? Int else { continue }
            switch kind {
            case "start":
                live = []
            case "resume", "rollback":
                if kind == "rollback" { live.removeAll { $0.epoch >= Double(epoch) } }
                let changes = (event["changes"] as? [String: [String]] ?? [:]).sorted { $0.key < $1.key }
                    .map { "\($0.key) \($0.value.first ?? "")→\($0.value.last ?? "")" }
                let label = (kind == "rollback" ? "rollback to \(epoch)" : "resume") + (changes.isEmpty ? "" : ": " + changes.joined(separator: ", "))
                live.append((Double(epoch) + 0.5, label))
            default:
                break
            }
        }
        return live
    }

    /// When any of the run's files last changed.
    var updated: Date? { modified.values.max() }

    enum Status: String, Sendable {
        case running, finished, stoppedEarly = "stopped early", diverged, stopped
    }

    /// finished / stopped early: its summary is newer than its history (a resume appends to the
    /// history, so an older summary belongs to an earlier leg); diverged: the history's last event
    /// says so; running: written to recently; stopped: none of these (killed, or paused by --max-steps).
    var status: Status {
        if events.last?["event"] as? String == "diverged" { return .diverged }
        if let summaryDate = modified["summary.json"], summaryDate >= (modified["history.jsonl"] ?? .distantPast) {
            return (summary?["stopped_early"] as? Bool ?? false) ? .stoppedEarly : .finished
        }
        if let updated, Date().timeIntervalSince(updated) < RunCatalog.runningWindow { return .running }
        return .stopped
    }

    /// Epoch number and value of `key` in each epoch's row that has both: one series of a chart.
    func series(_ key: String) -> [(x: Double, y: Double)] {
        epochs.compactMap { row in
            guard let e = row["epoch"] as? Int, let v = row[key] as? Double else { return nil }
            return (Double(e), v)
        }
    }
}

/// JSON-lines files read leniently: a line that is not a JSON object (a torn write from a crash
/// elsewhere, a hand edit) is skipped rather than failing the page.
enum JSONLines {
    static func read(_ path: String) -> [[String: Any]] {
        // A link is not read, wherever it points: the dashboard shows only files inside its root.
        guard SafePath.isRegularFile(path), let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
    }
}
