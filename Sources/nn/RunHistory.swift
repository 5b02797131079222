import Foundation
import NNTrain

/// `history.jsonl` in a run's folder: one JSON object per start, resume and rollback, appended in
/// order and never rewritten, so it tells everything that happened to the run (also what a rollback
/// later superseded):
///
///     {"event":"start","time":"…","run_id":"…","epoch":0,"step":0,"settings":{"batch":"128",…}}
///     {"event":"resume","time":"…","run_id":"…","checkpoint":"epoch-003","epoch":3,"step":1266,
///      "step_in_epoch":0,"takes_effect_in_epoch":4,"changes":{"lr":["0.001","0.0003"]}}
///     {"event":"rollback",…,"archived":"superseded/rollback-1-to-epoch-3"}
///
/// `epoch` counts the epochs complete at the checkpoint the run continued from; changes apply from
/// epoch `takes_effect_in_epoch` (mid-epoch, after `step_in_epoch` batches of it).
struct RunHistory {
    static let fileName = "history.jsonl"

    enum Kind: String {
        case start, resume, rollback
        /// Training stopped on a non-finite loss; the checkpoints written before it stay good.
        case diverged
    }

    struct Event {
        var kind: Kind
        var runID: String
        var checkpoint: String?
        var epoch: Int
        var step: Int
        var stepInEpoch: Int
        var changes: [RunSettings.Change]
        var archived: String?
        var settings: RunSettings?
        /// The device this part of the run trains on (see ``ExecutionRecord``).
        var device: String?
        /// On a resume or rollback: whether the continuation reproduces the uninterrupted run exactly.
        var bitForBit: Bool?

        var jsonLine: String {
            var line = JSONLine()
            line.add("event", kind.rawValue)
            line.add("time", ISO8601DateFormatter().string(from: Date()))
            line.add("run_id", runID)
            if let checkpoint { line.add("checkpoint", checkpoint) }
            line.add("epoch", epoch)
            line.add("step", step)
            if kind == .resume || kind == .rollback {
                line.add("step_in_epoch", stepInEpoch)
                line.add("takes_effect_in_epoch", epoch + 1)
                var changed = JSONLine()
                for c in changes { changed.add(c.key, json: "[\(JSONLine.quote(c.old)),\(JSONLine.quote(c.new))]") }
                line.add("changes", json: changed.text)
            }
            if let archived { line.add("archived", archived) }
            if let settings { line.add("settings", json: settings.json) }
            if let device { line.add("device", device) }
            if let bitForBit { line.add("bit_for_bit", bitForBit) }
            return line.text
        }

        init(kind: Kind, runID: String, checkpoint: String? = nil, epoch: Int = 0, step: Int = 0, stepInEpoch: Int = 0,
             changes: [RunSettings.Change] = [], archived: String? = nil, settings: RunSettings? = nil,
             device: String? = nil, bitForBit: Bool? = nil) {
            self.kind = kind
            self.runID = runID
            self.checkpoint = checkpoint
            self.epoch = epoch
            self.step = step
            self.stepInEpoch = stepInEpoch
            self.changes = changes
            self.archived = archived
            self.settings = settings
            self.device = device
            self.bitForBit = bitForBit
        }

        /// Reads back the fields the markers and the resume logic need; nil for a line that is not an event.
        init?(jsonLine: String) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(jsonLine.utf8)) as? [String: Any],
                  let kind = (object["event"] as? String).flatMap(Kind.init(rawValue:)),
                  let runID = object["run_id"] as? String, let epoch = object["epoch"] as? Int else { return nil }
            let changes = (object["changes"] as? [String: [String]] ?? [:]).compactMap { key, pair in
                pair.count == 2 ? RunSettings.Change(key: key, old: pair[0], new: pair[1]) : nil
            }
            self.init(kind: kind, runID: runID, checkpoint: object["checkpoint"] as? String, epoch: epoch,
                      step: object["step"] as? Int ?? 0, stepInEpoch: object["step_in_epoch"] as? Int ?? 0,
                      changes: changes.sorted { $0.key < $1.key }, archived: object["archived"] as? String)
        }
    }

    let path: String
    private(set) var lines: [String]

    /// The history of the run in `directory` (empty when it has none).
    init(directory: String) {
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        lines = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    var events: [Event] { lines.compactMap(Event.init(jsonLine:)) }

    /// The id of the run the folder's checkpoints belong to: that of its latest start.
    var runID: String? { events.last { $0.kind == .start }?.runID }

    /// Appends `event` (the small file is rewritten atomically). A fresh run in a used folder
    /// appends its start below the old lines, which still tell what happened there before.
    mutating func append(_ event: Event) throws {
        lines.append(event.jsonLine)
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path, followingSymlinks: false)
    }

    /// Learning-curve markers for the events of the current run that still lie on its live
    /// history: a rollback to epoch K drops earlier markers at K or later, whose epochs it superseded.
    var markers: [LearningCurve.Marker] {
        var live: [(epoch: Int, marker: LearningCurve.Marker)] = []
        for event in events {
            switch event.kind {
            case .start:
                live = []
            case .diverged:
                break
            case .resume, .rollback:
                if event.kind == .rollback { live.removeAll { $0.epoch >= event.epoch } }
                var label = event.kind == .rollback ? "rollback to \(event.epoch)" : "resume"
                if !event.changes.isEmpty { label += ": " + event.changes.map(\.label).joined(separator: ", ") }
                // Between epoch K (the checkpoint) and K + 1 (the first trained with the change).
                live.append((event.epoch, LearningCurve.Marker(epoch: Double(event.epoch) + 0.5, label: label)))
            }
        }
        return live.map(\.marker)
    }
}
