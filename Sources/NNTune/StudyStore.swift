import Foundation

/// Where a trial stands. `running` rows found when a study opens belong to a tuner that died:
/// they go back to `pending` and run again.
public enum TrialStatus: String, Sendable, Codable, CaseIterable {
    case pending, running, done, failed, pruned

    /// True once the trial will never run again.
    public var isFinished: Bool { self == .done || self == .failed || self == .pruned }
}

/// What defines a study; fixed when it is created and stored with it, so a resumed study draws
/// and runs exactly what the first run would have.
public struct StudyConfiguration: Sendable, Equatable, Codable {
    public var space: SearchSpace
    public var sampler: SamplerKind
    public var seed: UInt64
    /// Trials per round for the random sampler (a grid round runs its whole grid).
    public var trialsPerRound: Int
    public var rounds: Int
    public var gridPoints: Int
    /// The share of a round's completed trials the next round's box is fitted around.
    public var keepFraction: Double
    /// Arguments every trial passes to `nn train` before its hyperparameters (data set, epochs …).
    public var trainArguments: [String]

    public init(space: SearchSpace, sampler: SamplerKind = .random, seed: UInt64 = 1, trialsPerRound: Int = 20,
                rounds: Int = 1, gridPoints: Int = 3, keepFraction: Double = 0.25, trainArguments: [String] = []) {
        self.space = space
        self.sampler = sampler
        self.seed = seed
        self.trialsPerRound = trialsPerRound
        self.rounds = rounds
        self.gridPoints = gridPoints
        self.keepFraction = keepFraction
        self.trainArguments = trainArguments
    }

    /// Upper limits of the counts: each row of a round is stored at once, so a count of 10¹² would
    /// hang the tuner filling its database before the first trial.
    public static let maximumTrialsPerRound = 100_000
    public static let maximumRounds = 1_000
    public static let maximumGridPoints = 1_000

    /// Throws on settings no study can run with.
    public func validate() throws {
        func check(_ value: Int, _ option: String, max limit: Int) throws {
            guard value >= 1 else { throw TuneError.invalidOption(name: option, detail: "\(value) must be ≥ 1") }
            guard value <= limit else {
                throw TuneError.invalidOption(name: option, detail: "\(value) is above the limit of \(limit)")
            }
        }
        try check(trialsPerRound, "--trials", max: Self.maximumTrialsPerRound)
        try check(rounds, "--rounds", max: Self.maximumRounds)
        try check(gridPoints, "--grid-points", max: Self.maximumGridPoints)
        guard keepFraction > 0, keepFraction <= 1 else {
            throw TuneError.invalidOption(name: "--keep-fraction", detail: "\(keepFraction) must lie in (0, 1]")
        }
        for reserved in ["--out", "--json"] where trainArguments.contains(reserved) {
            throw TuneError.invalidOption(name: reserved, detail: "the tuner sets \(reserved) for each trial; remove it from the train arguments")
        }
        let searched = Set(Hyperparameter.trainArguments(for: Dictionary(uniqueKeysWithValues: space.entries.map {
            ($0.name, $0.distribution.value(atCoordinate: 0))
        })).filter { $0.hasPrefix("--") })
        if let clash = trainArguments.first(where: { searched.contains($0) }) {
            throw TuneError.invalidOption(
                name: clash, detail: "the search space already sets \(clash); drop it from the train arguments or from the space")
        }
    }
}

/// The final numbers a worker reported (its `--json` line).
public struct TrialResult: Sendable, Equatable, Codable {
    public var devAccuracy: Double
    public var trainAccuracy: Double?
    public var testAccuracy: Double?
    public var samplesPerSecond: Double?
    public var wallSeconds: Double?

    public init(devAccuracy: Double, trainAccuracy: Double? = nil, testAccuracy: Double? = nil,
                samplesPerSecond: Double? = nil, wallSeconds: Double? = nil) {
        self.devAccuracy = devAccuracy
        self.trainAccuracy = trainAccuracy
        self.testAccuracy = testAccuracy
        self.samplesPerSecond = samplesPerSecond
        self.wallSeconds = wallSeconds
    }
}

/// One epoch's metrics as a worker wrote them.
public struct EpochRecord: Sendable, Equatable {
    public var epoch: Int
    public var devAccuracy: Double?
    /// The worker's whole JSON line, kept for reports.
    public var json: String

    /// The epochs the trial's run is planned for (`nn train` writes it in each line), when known.
    public var plannedEpochs: Int? {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["epochs"] as? Int
    }
}

/// One trial row.
public struct TrialRecord: Sendable, Equatable {
    public var id: Int
    public var round: Int
    public var assignment: Assignment
    public var status: TrialStatus
    /// How many times a worker was started for it (more than 1 after an interrupted run).
    public var attempts: Int
    public var pid: Int?
    public var outputDirectory: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var result: TrialResult?
    public var error: String?

    /// Seconds from start to finish of the last attempt.
    public var wallSeconds: Double? {
        guard let s = startedAt, let f = finishedAt else { return nil }
        return f.timeIntervalSince(s)
    }
}

/// The SQLite file of one study: its configuration, each round's box, each trial's parameters,
/// status, timings, result or error, and per-epoch dev metrics.
///
/// Only the tuner process writes it (workers write their own files), and every change of state is
/// one transaction, so a tuner killed at any instant leaves a consistent study to resume.
public final class StudyStore {
    private let db: SQLiteDatabase
    public var path: String { db.path }

    static let schemaVersion = 1

    /// Opens the study database at `path`, creating its tables if they are missing.
    public init(path: String, readOnly: Bool = false) throws {
        db = try SQLiteDatabase(path: path, readOnly: readOnly)
        if readOnly { return }
        try db.transaction {
            try db.execute("""
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS rounds (
                    round INTEGER PRIMARY KEY,
                    box TEXT NOT NULL,
                    created_at REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS trials (
                    id INTEGER PRIMARY KEY,
                    round INTEGER NOT NULL REFERENCES rounds(round),
                    params TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'pruned')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    pid INTEGER,
                    out_dir TEXT,
                    started_at REAL,
                    finished_at REAL,
                    objective REAL,
                    result TEXT,
                    error TEXT);
                CREATE INDEX IF NOT EXISTS trials_by_status ON trials (status);
                CREATE TABLE IF NOT EXISTS trial_epochs (
                    trial INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
                    epoch INTEGER NOT NULL,
                    dev_accuracy REAL,
                    metrics TEXT NOT NULL,
                    PRIMARY KEY (trial, epoch));
                """)
            let version = try db.query("SELECT value FROM meta WHERE key = 'schema_version'").first?.first?.string
            if let version, version != String(Self.schemaVersion) {
                throw TuneError.storage(detail: "\(path) has schema version \(version); this nn reads version \(Self.schemaVersion)")
            }
            try db.query("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", [.text(String(Self.schemaVersion))])
        }
    }

    // MARK: Configuration

    public func configuration() throws -> StudyConfiguration? {
        guard let text = try db.query("SELECT value FROM meta WHERE key = 'configuration'").first?.first?.string else {
            return nil
        }
        do {
            return try JSONDecoder().decode(StudyConfiguration.self, from: Data(text.utf8))
        } catch {
            throw TuneError.storage(detail: "the stored study configuration cannot be read (\(error)); start a new study")
        }
    }

    public func saveConfiguration(_ configuration: StudyConfiguration) throws {
        let text = try encode(configuration)
        try db.transaction {
            try db.query("INSERT OR REPLACE INTO meta (key, value) VALUES ('configuration', ?)", [.text(text)])
        }
    }

    // MARK: Rounds

    /// Stores round `round`'s box and its trials as pending, in one transaction: a round is either
    /// fully planned or not at all. Returns the new trial ids in order.
    @discardableResult
    public func addRound(_ round: Int, box: SearchBox, assignments: [Assignment]) throws -> [Int] {
        let boxText = try encode(box)
        let texts = try assignments.map(encode)
        return try db.transaction {
            try db.query("INSERT INTO rounds (round, box, created_at) VALUES (?, ?, ?)",
                         [.integer(Int64(round)), .text(boxText), .real(Date().timeIntervalSince1970)])
            return try insertTrials(round: round, texts)
        }
    }

    /// Adds pending trials to round `round`, already planned (a study extended with more trials);
    /// returns their ids in order.
    @discardableResult
    public func addTrials(round: Int, assignments: [Assignment]) throws -> [Int] {
        let texts = try assignments.map(encode)
        return try db.transaction { try insertTrials(round: round, texts) }
    }

    /// Inserts pending trials; the caller holds the transaction.
    private func insertTrials(round: Int, _ texts: [String]) throws -> [Int] {
        try texts.map { text in
            let row = try db.query("INSERT INTO trials (round, params, status) VALUES (?, ?, 'pending') RETURNING id",
                                   [.integer(Int64(round)), .text(text)])
            guard let id = row.first?.first?.int else { throw TuneError.storage(detail: "insert returned no trial id") }
            return id
        }
    }

    /// Every planned round's box, in order.
    public func rounds() throws -> [(round: Int, box: SearchBox)] {
        try db.query("SELECT round, box FROM rounds ORDER BY round").map { row in
            guard let r = row[0].int, let text = row[1].string else { throw TuneError.storage(detail: "malformed round row") }
            return (r, try decode(SearchBox.self, text))
        }
    }

    // MARK: Trials

    public func trials(round: Int? = nil, status: TrialStatus? = nil) throws -> [TrialRecord] {
        var sql = "SELECT id, round, params, status, attempts, pid, out_dir, started_at, finished_at, result, error FROM trials"
        var conditions: [String] = []
        var values: [SQLiteValue] = []
        if let round { conditions.append("round = ?"); values.append(.integer(Int64(round))) }
        if let status { conditions.append("status = ?"); values.append(.text(status.rawValue)) }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        return try db.query(sql + " ORDER BY id", values).map(trial)
    }

    public func trial(id: Int) throws -> TrialRecord? {
        try db.query("SELECT id, round, params, status, attempts, pid, out_dir, started_at, finished_at, result, error FROM trials WHERE id = ?",
                     [.integer(Int64(id))]).first.map(trial)
    }

    private func trial(_ row: [SQLiteValue]) throws -> TrialRecord {
        guard let id = row[0].int, let round = row[1].int, let params = row[2].string,
              let statusText = row[3].string, let status = TrialStatus(rawValue: statusText) else {
            throw TuneError.storage(detail: "malformed trial row \(row)")
        }
        return TrialRecord(
            id: id, round: round, assignment: try decode(Assignment.self, params), status: status,
            attempts: row[4].int ?? 0, pid: row[5].int, outputDirectory: row[6].string,
            startedAt: row[7].double.map(Date.init(timeIntervalSince1970:)),
            finishedAt: row[8].double.map(Date.init(timeIntervalSince1970:)),
            result: try row[9].string.map { try decode(TrialResult.self, $0) }, error: row[10].string)
    }

    /// Marks a trial as started by worker `pid`, writing into `outputDirectory`.
    public func markRunning(_ id: Int, pid: Int, outputDirectory: String, at date: Date = Date()) throws {
        try db.transaction {
            try db.query("DELETE FROM trial_epochs WHERE trial = ?", [.integer(Int64(id))])
            try db.query("""
                UPDATE trials SET status = 'running', attempts = attempts + 1, pid = ?, out_dir = ?,
                    started_at = ?, finished_at = NULL, objective = NULL, result = NULL, error = NULL
                WHERE id = ?
                """, [.integer(Int64(pid)), .text(outputDirectory), .real(date.timeIntervalSince1970), .integer(Int64(id))])
        }
    }

    /// Records the epochs a running trial has reported so far (re-recording one is harmless).
    public func recordEpochs(_ id: Int, _ epochs: [EpochRecord]) throws {
        guard !epochs.isEmpty else { return }
        try db.transaction {
            for e in epochs {
                try db.query("INSERT OR REPLACE INTO trial_epochs (trial, epoch, dev_accuracy, metrics) VALUES (?, ?, ?, ?)",
                             [.integer(Int64(id)), .integer(Int64(e.epoch)), SQLiteValue(e.devAccuracy), .text(e.json)])
            }
        }
    }

    public func epochs(of id: Int) throws -> [EpochRecord] {
        try db.query("SELECT epoch, dev_accuracy, metrics FROM trial_epochs WHERE trial = ? ORDER BY epoch", [.integer(Int64(id))]).map { row in
            EpochRecord(epoch: row[0].int ?? 0, devAccuracy: row[1].double, json: row[2].string ?? "{}")
        }
    }

    /// Dev accuracy at `epoch` of every completed (`done`) trial that reported it: the median rule's reference.
    public func completedDevAccuracies(atEpoch epoch: Int) throws -> [Double] {
        try db.query("""
            SELECT e.dev_accuracy FROM trial_epochs e JOIN trials t ON t.id = e.trial
            WHERE t.status = 'done' AND e.epoch = ? AND e.dev_accuracy IS NOT NULL
            """, [.integer(Int64(epoch))]).compactMap { $0[0].double }
    }

    /// Dev accuracy at `epoch` of every trial that reported it, whatever its state (ASHA's rung), but one.
    public func devAccuracies(atEpoch epoch: Int, excludingTrial trial: Int) throws -> [Double] {
        try db.query("SELECT dev_accuracy FROM trial_epochs WHERE epoch = ? AND trial != ? AND dev_accuracy IS NOT NULL",
                     [.integer(Int64(epoch)), .integer(Int64(trial))]).compactMap { $0[0].double }
    }

    /// Ends a trial: `done` with a result, or `failed`/`pruned` with a reason.
    public func finish(_ id: Int, status: TrialStatus, result: TrialResult? = nil, error: String? = nil,
                       at date: Date = Date()) throws {
        guard status.isFinished else {
            throw TuneError.storage(detail: "trial \(id) cannot finish as '\(status.rawValue)'; use done, failed or pruned")
        }
        let resultText = try result.map(encode)
        try db.transaction {
            try db.query("""
                UPDATE trials SET status = ?, finished_at = ?, objective = ?, result = ?, error = ? WHERE id = ?
                """, [.text(status.rawValue), .real(date.timeIntervalSince1970), SQLiteValue(result?.devAccuracy),
                      SQLiteValue(resultText), SQLiteValue(error), .integer(Int64(id))])
        }
    }

    /// Puts every `running` trial (its tuner died) back to `pending`, dropping its partial epochs.
    /// Returns the trials as they were, so the caller can stop their orphaned workers.
    public func requeueInterrupted() throws -> [TrialRecord] {
        try db.transaction {
            let interrupted = try trials(status: .running)
            for t in interrupted {
                try db.query("DELETE FROM trial_epochs WHERE trial = ?", [.integer(Int64(t.id))])
                try db.query("UPDATE trials SET status = 'pending', pid = NULL WHERE id = ?", [.integer(Int64(t.id))])
            }
            return interrupted
        }
    }

    /// Puts one trial whose worker the tuner stopped on a SIGINT/SIGTERM back to `pending`, with
    /// `note` saying why, so the resumed study runs it again from scratch.
    public func requeue(_ id: Int, note: String) throws {
        try db.transaction {
            try db.query("DELETE FROM trial_epochs WHERE trial = ?", [.integer(Int64(id))])
            try db.query("UPDATE trials SET status = 'pending', pid = NULL, finished_at = NULL, error = ? WHERE id = ?",
                         [.text(note), .integer(Int64(id))])
        }
    }

    /// Records as `done` a trial whose worker finished attempt `attempt` (in `outputDirectory`) but
    /// whose tuner died before recording it: the result and epochs come from that attempt's files.
    public func finishRecovered(_ id: Int, attempt: Int, outputDirectory: String, result: TrialResult, epochs: [EpochRecord],
                                startedAt: Date?, finishedAt: Date) throws {
        let resultText = try encode(result)
        try db.transaction {
            try db.query("DELETE FROM trial_epochs WHERE trial = ?", [.integer(Int64(id))])
            for e in epochs {
                try db.query("INSERT OR REPLACE INTO trial_epochs (trial, epoch, dev_accuracy, metrics) VALUES (?, ?, ?, ?)",
                             [.integer(Int64(id)), .integer(Int64(e.epoch)), SQLiteValue(e.devAccuracy), .text(e.json)])
            }
            try db.query("""
                UPDATE trials SET status = 'done', attempts = MAX(attempts, ?), pid = NULL, out_dir = ?, started_at = ?,
                    finished_at = ?, objective = ?, result = ?, error = NULL
                WHERE id = ?
                """, [.integer(Int64(attempt)), .text(outputDirectory), SQLiteValue(startedAt?.timeIntervalSince1970),
                      .real(finishedAt.timeIntervalSince1970), .real(result.devAccuracy), .text(resultText), .integer(Int64(id))])
        }
    }

    // MARK: JSON

    private func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw TuneError.storage(detail: "cannot read stored \(type): \(error)")
        }
    }
}
