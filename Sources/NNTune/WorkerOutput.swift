import Foundation

/// Reads what an `nn train` worker writes: the final `--json` line on stdout and the per-epoch
/// metrics file (JSON lines) in its `--out` folder.
///
/// Keys are matched loosely — case, `_`, `-` and nesting ignored, so `dev_accuracy`,
/// `devAccuracy` and `{"dev": {"accuracy": …}}` all read as dev accuracy — because the tuner must
/// not break when the trainer renames a field's spelling. Accuracies are fractions in [0, 1].
public enum WorkerOutput {
    static let devAccuracyKeys = ["devaccuracy", "devacc", "validationaccuracy", "valaccuracy"]
    static let trainAccuracyKeys = ["trainaccuracy", "trainacc"]
    static let testAccuracyKeys = ["testaccuracy", "testacc"]
    static let throughputKeys = ["samplespersecond", "samplespersec", "samplesps", "throughput"]
    static let wallKeys = ["wallseconds", "wallsecs", "wall", "walltime", "seconds"]

    /// The trial's result from the worker's stdout: the last line that is a JSON object holding a dev accuracy.
    public static func result(fromStdout text: String) throws -> TrialResult {
        for line in text.split(whereSeparator: \.isNewline).reversed() {
            guard let fields = flatObject(String(line)) else { continue }
            guard let dev = accuracy(fields, devAccuracyKeys) else { continue }
            return TrialResult(devAccuracy: dev, trainAccuracy: accuracy(fields, trainAccuracyKeys),
                               testAccuracy: accuracy(fields, testAccuracyKeys),
                               samplesPerSecond: number(fields, throughputKeys), wallSeconds: number(fields, wallKeys))
        }
        throw TuneError.unreadableWorkerOutput(
            detail: "no JSON line with a dev accuracy on stdout; the worker must be `nn train --json` with a dev set (--dev-size > 0)")
    }

    /// One metrics line as an epoch record, or nil for a line that is not a JSON object with an epoch.
    public static func epoch(fromLine line: String) -> EpochRecord? {
        // Int(exactly:): a worker's "epoch": 1e300 is a line to skip, not a reason to trap.
        guard let fields = flatObject(line), let value = number(fields, ["epoch"]), let epoch = Int(exactly: value) else { return nil }
        return EpochRecord(epoch: epoch, devAccuracy: accuracy(fields, devAccuracyKeys), json: line)
    }

    /// A JSON object flattened to normalised keys ("dev.accuracy" → "devaccuracy") with numeric values.
    static func flatObject(_ line: String) -> [String: Double]? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("{"),
              let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else { return nil }
        var out: [String: Double] = [:]
        func walk(_ object: [String: Any], prefix: String) {
            for (key, value) in object {
                let name = prefix + normalise(key)
                if let nested = value as? [String: Any] {
                    walk(nested, prefix: name)
                } else if let n = value as? NSNumber, !(value is String) {
                    out[name] = n.doubleValue
                }
            }
        }
        walk(object, prefix: "")
        return out
    }

    static func normalise(_ key: String) -> String {
        String(key.lowercased().filter { $0.isLetter || $0.isNumber })
    }

    static func number(_ fields: [String: Double], _ keys: [String]) -> Double? {
        for k in keys { if let v = fields[k], v.isFinite { return v } }
        return nil
    }

    static func accuracy(_ fields: [String: Double], _ keys: [String]) -> Double? {
        number(fields, keys)
    }
}

/// Follows a growing JSON-lines file: each call returns the records of lines completed since the
/// last call. A line still being written (no newline yet) waits for the next call.
public final class MetricsFollower {
    /// The `metrics.jsonl` file followed.
    public let path: String
    private var offset: UInt64 = 0
    private var pending = Data()

    /// Follows `path` from its start.
    public init(path: String) {
        self.path = path
    }

    /// The epochs written since the last poll.
    public func poll() -> [EpochRecord] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: offset)
            let data = try handle.readToEnd() ?? Data()
            offset += UInt64(data.count)
            pending.append(data)
        } catch {
            return []
        }
        guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        let complete = pending[pending.startIndex...lastNewline]
        pending = Data(pending[pending.index(after: lastNewline)...])
        return String(decoding: complete, as: UTF8.self)
            .split(whereSeparator: \.isNewline)
            .compactMap { WorkerOutput.epoch(fromLine: String($0)) }
    }
}
