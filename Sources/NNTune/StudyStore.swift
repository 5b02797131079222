import Foundation

/// Where a trial stands. `running` rows found when a study opens belong to a tuner that died:
/// they go back to `pending` and run again.
public enum TrialStatus: String, Sendable, Codable, CaseIterable {
    /// Waiting for a worker.
    case pending
    /// A worker is training it.
    case running
    /// Finished with a result.
    case done
    /// Ended with an error (a crash, a timeout, attempts used up).
    case failed
    /// Stopped early by the pruner.
    case pruned

    /// True once the trial will never run again.
    public var isFinished: Bool { self == .done || self == .failed || self == .pruned }
}

/// What defines a study; fixed when it is created and stored with it, so a resumed study draws
/// and runs exactly what the first run would have.
public struct StudyConfiguration: Sendable, Equatable, Codable {
    /// The hyperparameters searched and their distributions.
    public var space: SearchSpace
    /// How trials are drawn.
    public var sampler: SamplerKind
    /// Seeds the sampler.
    public var seed: UInt64
    /// Trials per round for the random sampler (a grid round runs its whole grid).
    public var trialsPerRound: Int
    /// Rounds, each searching a box fitted around the previous round's best trials.
    public var rounds: Int
    /// Points per real-valued hyperparameter for the grid sampler.
    public var gridPoints: Int
    /// The share of a round's completed trials the next round's box is fitted around.
    public var keepFraction: Double
    /// Arguments every trial passes to `nn train` before its hyperparameters (data set, epochs …).
    public var trainArguments: [String]

    /// A study's definition; ``validate()`` checks it.
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
    /// The most rounds a study may have.
    public static let maximumRounds = 1_000
    /// The most grid points per hyperparameter.
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
        // The first round's grid, over the whole space, is the largest: refused before a study exists.
        if sampler == .grid { try GridSampler(points: gridPoints).checkSize(box: space.fullBox, space: space) }
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
    /// The dev accuracy the trial reported (`nn train --json`'s `dev_accuracy`): the objective.
    public var devAccuracy: Double
    /// Final training accuracy.
    public var trainAccuracy: Double?
    /// Final test accuracy, when the run had a test set.
    public var testAccuracy: Double?
    /// Training throughput.
    public var samplesPerSecond: Double?
    /// The run's wall time.
    public var wallSeconds: Double?

    /// A trial's result.
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
    /// 1-based epoch number.
    public var epoch: Int
    /// Dev accuracy after the epoch (nil when the trial has no dev set).
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
    /// The round it belongs to.
    public var round: Int
    /// Its hyperparameters.
    public var assignment: Assignment
    /// Where it stands.
    public var status: TrialStatus
    /// How many times a worker was started for it (more than 1 after an interrupted run).
    public var attempts: Int
    /// The process that ran it last.
    public var pid: Int?
    /// Its `nn train` run folder.
    public var outputDirectory: String?
    /// When it last started.
    public var startedAt: Date?
    /// When it finished.
    public var finishedAt: Date?
    /// Its result, once done.
    public var result: TrialResult?
    /// Why it failed, when it did.
    public var error: String?
    /// The process running it, `host:pid` (``WorkerIdentity``), while it runs.
    public var worker: String?
    /// When its worker last said it was alive (seconds since 1970, by the database's clock).
    public var heartbeatAt: Double?

    /// Seconds from start to finish of the last attempt.
    public var wallSeconds: Double? {
        guard let s = startedAt, let f = finishedAt else { return nil }
        return f.timeIntervalSince(s)
    }
}

/// One study's records: its configuration and execution settings, each round's box, each trial's
/// parameters, status, owner and heartbeat, timings, result or error, and per-epoch dev metrics.
///
/// It lives in a SQLite file (one per study; the default) or in a PostgreSQL schema (shared by
/// workers on many machines); see ``StudyStorage``. Every change of state is one transaction, so a
/// process killed at any instant leaves a consistent study. Workers claim pending trials atomically
/// (``claimPendingTrial(worker:at:)``), and only a trial's current owner can record its end, so a trial
/// that was taken from a worker presumed dead is never recorded twice.
public final class StudyStore {
    let db: any StudyDatabase
    /// The study's file, or its server URL with the password masked.
    public var path: String { db.location }
    /// Whether the store was opened read-only.
    public let readOnly: Bool
    private var hasOwners = true

    /// Version 2 added the trial's owner and heartbeat (workers on several machines).
    static let schemaVersion = 2

    /// Opens the SQLite study file at `path`, creating its tables if they are missing.
    public convenience init(path: String, readOnly: Bool = false) throws {
        try self.init(database: SQLiteDatabase(path: path, readOnly: readOnly), readOnly: readOnly)
    }

    init(database: any StudyDatabase, readOnly: Bool = false) throws {
        db = database
        self.readOnly = readOnly
        if readOnly {
            let version = try storedVersion()
            try checkVersion(version, writable: false)
            hasOwners = version.map { $0 >= 2 } ?? false
            return
        }
        try db.transaction {
            try db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            let version = try storedVersion()
            try checkVersion(version, writable: true)
            if version == nil {
                try db.execute(Self.tables)
            } else if version == 1 {
                // Version 1 had no owners or heartbeats: its running trials belong to no live worker.
                try db.execute("ALTER TABLE trials ADD COLUMN worker TEXT")
                try db.execute("ALTER TABLE trials ADD COLUMN heartbeat_at DOUBLE PRECISION")
                try db.execute(Self.idleWorkersTable)
            }
            try db.query("""
                INSERT INTO meta (key, value) VALUES ('schema_version', ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, [.text(String(Self.schemaVersion))])
        }
    }

    /// The schema, in the SQL both SQLite and PostgreSQL accept. Ids are given by the store (never
    /// generated by the engine), so a study copied between stores keeps its trial numbers.
    static let tables = """
        CREATE TABLE IF NOT EXISTS rounds (
            round INTEGER PRIMARY KEY,
            box TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL);
        CREATE TABLE IF NOT EXISTS trials (
            id INTEGER PRIMARY KEY,
            round INTEGER NOT NULL REFERENCES rounds(round),
            params TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'pruned')),
            attempts INTEGER NOT NULL DEFAULT 0,
            pid INTEGER,
            out_dir TEXT,
            started_at DOUBLE PRECISION,
            finished_at DOUBLE PRECISION,
            objective DOUBLE PRECISION,
            result TEXT,
            error TEXT,
            worker TEXT,
            heartbeat_at DOUBLE PRECISION);
        CREATE INDEX IF NOT EXISTS trials_by_status ON trials (status);
        CREATE TABLE IF NOT EXISTS trial_epochs (
            trial INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            dev_accuracy DOUBLE PRECISION,
            metrics TEXT NOT NULL,
            PRIMARY KEY (trial, epoch));
        """ + idleWorkersTable

    /// Workers that found no pending trial to claim, and how many they could run: the TPE sampler
    /// draws that many trials at once, as late as possible, so no worker waits on a running trial.
    static let idleWorkersTable = """
        CREATE TABLE IF NOT EXISTS idle_workers (
            worker TEXT PRIMARY KEY,
            slots INTEGER NOT NULL,
            seen_at DOUBLE PRECISION NOT NULL);
        """

    private func storedVersion() throws -> Int? {
        let rows: [[SQLValue]]
        do {
            rows = try db.query("SELECT value FROM meta WHERE key = 'schema_version'")
        } catch where readOnly {
            throw TuneError.storage(detail: "\(path) holds no study (\(error))")
        }
        guard let text = rows.first?.first?.string else { return nil }
        guard let version = Int(text), version >= 1 else {
            throw TuneError.storage(detail: "\(path) has schema version '\(text)', which no nn writes; it is not a study database")
        }
        return version
    }

    /// A store written by a newer nn is refused rather than half understood; an older one is
    /// upgraded when opened for writing.
    private func checkVersion(_ version: Int?, writable: Bool) throws {
        if let version, version > Self.schemaVersion {
            throw TuneError.storage(
                detail: "\(path) has schema version \(version), written by a newer nn; this nn reads versions up to \(Self.schemaVersion): upgrade nn")
        }
    }

    // MARK: Configuration

    /// The stored study definition, or nil for a new store.
    public func configuration() throws -> StudyConfiguration? {
        guard let text = try meta("configuration") else { return nil }
        do {
            return try JSONDecoder().decode(StudyConfiguration.self, from: Data(text.utf8))
        } catch {
            throw TuneError.storage(detail: "the stored study configuration cannot be read (\(error)); start a new study")
        }
    }

    /// Stores the study definition.
    public func saveConfiguration(_ configuration: StudyConfiguration) throws {
        let text = try encode(configuration)
        try db.transaction {
            try setMeta("configuration", text)
        }
    }

    /// How trials run (pruning, heartbeats, retries), stored so that every worker applies the same rules.
    public func execution() throws -> TrialRules? {
        guard let text = try meta("execution") else { return nil }
        return try decode(TrialRules.self, text)
    }

    /// Stores the rules every worker applies.
    public func saveExecution(_ execution: TrialRules) throws {
        let text = try encode(execution)
        try db.transaction { try setMeta("execution", text) }
    }

    /// Set by the coordinator when every round has run: workers then stop.
    public func isComplete() throws -> Bool { try meta("state") == "complete" }

    /// Marks the study complete (or not).
    public func setComplete(_ complete: Bool) throws {
        try db.transaction { try setMeta("state", complete ? "complete" : "running") }
    }

    /// Makes this process the study's only coordinator across machines, for as long as its connection
    /// lasts. On PostgreSQL that is a session advisory lock, which the server drops when the process
    /// dies; a SQLite study is guarded by the ``StudyLock`` file beside it instead, so this does nothing.
    public func takeCoordinatorRole(studyName: String) throws {
        guard let postgres = db as? PostgresDatabase else { return }
        guard try postgres.tryAdvisoryLock("nn_study_" + studyName) else {
            let holder = (try? meta("coordinator")) ?? nil
            throw TuneError.studyInUse(name: studyName, pid: holder.flatMap { Int($0.split(separator: ":").last ?? "") },
                                       lockPath: "advisory lock in \(path)" + (holder.map { ", coordinator \($0)" } ?? ""))
        }
    }

    /// Makes a lost PostgreSQL connection stop being retried once `isStopping` is true (a stop signal),
    /// instead of after the reconnection window. Nothing for SQLite.
    func stopReconnecting(when isStopping: @escaping () -> Bool) {
        (db as? PostgresDatabase)?.stopsWaiting = isStopping
    }

    /// Records that the coordinator is alive (`owner` is its ``WorkerIdentity``).
    public func touchCoordinator(_ owner: String) throws {
        try db.transaction {
            try setMeta("coordinator", owner)
            try db.query("""
                INSERT INTO meta (key, value) VALUES ('coordinator_heartbeat', CAST(\(db.dialect.now) AS TEXT))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """)
        }
    }

    /// Seconds since the coordinator last said it was alive, and who it was; nil if none ever did.
    public func coordinatorSilence() throws -> (seconds: Double, owner: String?)? {
        let rows = try db.query("SELECT \(db.dialect.now) - CAST(value AS DOUBLE PRECISION) FROM meta WHERE key = 'coordinator_heartbeat'")
        guard let seconds = rows.first?.first?.double else { return nil }
        return (seconds, try meta("coordinator"))
    }

    private func meta(_ key: String) throws -> String? {
        try db.query("SELECT value FROM meta WHERE key = ?", [.text(key)]).first?.first?.string
    }

    private func setMeta(_ key: String, _ value: String) throws {
        try db.query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     [.text(key), .text(value)])
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
            let row = try db.query("""
                INSERT INTO trials (id, round, params, status) VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM trials), ?, ?, 'pending')
                RETURNING id
                """, [.integer(Int64(round)), .text(text)])
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

    /// Trials, optionally of one round and one status, by id.
    public func trials(round: Int? = nil, status: TrialStatus? = nil) throws -> [TrialRecord] {
        var sql = "SELECT \(trialColumns) FROM trials"
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let round { conditions.append("round = ?"); values.append(.integer(Int64(round))) }
        if let status { conditions.append("status = ?"); values.append(.text(status.rawValue)) }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        return try db.query(sql + " ORDER BY id", values).map(trial)
    }

    /// The trial `id`, or nil.
    public func trial(id: Int) throws -> TrialRecord? {
        try db.query("SELECT \(trialColumns) FROM trials WHERE id = ?",
                     [.integer(Int64(id))]).first.map(trial)
    }

    /// Version 1 files (read-only, not upgraded) have no owner or heartbeat columns.
    private var trialColumns: String {
        "id, round, params, status, attempts, pid, out_dir, started_at, finished_at, result, error, "
            + (hasOwners ? "worker, heartbeat_at" : "NULL, NULL")
    }

    private func trial(_ row: [SQLValue]) throws -> TrialRecord {
        guard let id = row[0].int, let round = row[1].int, let params = row[2].string,
              let statusText = row[3].string, let status = TrialStatus(rawValue: statusText) else {
            throw TuneError.storage(detail: "malformed trial row \(row)")
        }
        return TrialRecord(
            id: id, round: round, assignment: try decode(Assignment.self, params), status: status,
            attempts: row[4].int ?? 0, pid: row[5].int, outputDirectory: row[6].string,
            startedAt: row[7].double.map(Date.init(timeIntervalSince1970:)),
            finishedAt: row[8].double.map(Date.init(timeIntervalSince1970:)),
            result: try row[9].string.map { try decode(TrialResult.self, $0) }, error: row[10].string,
            worker: row[11].string, heartbeatAt: row[12].double)
    }

    /// Marks a trial as started by worker `pid`, writing into `outputDirectory`, whatever its state:
    /// for a caller that owns the study alone (tests, tools); workers use ``claimPendingTrial(worker:at:)``.
    public func markRunning(_ id: Int, pid: Int, outputDirectory: String, at date: Date = Date(), worker: String? = nil) throws {
        try db.transaction {
            try db.query("DELETE FROM trial_epochs WHERE trial = ?", [.integer(Int64(id))])
            try db.query("""
                UPDATE trials SET status = 'running', attempts = attempts + 1, pid = ?, out_dir = ?, started_at = ?,
                    finished_at = NULL, objective = NULL, result = NULL, error = NULL, worker = ?, heartbeat_at = \(db.dialect.now)
                WHERE id = ?
                """, [.integer(Int64(pid)), .text(outputDirectory), .real(date.timeIntervalSince1970), SQLValue(worker), .integer(Int64(id))])
        }
    }

    /// Takes the pending trial with the lowest id for `worker`, atomically: it becomes `running`, owned
    /// by `worker`, with a fresh heartbeat and one more attempt. Concurrent claims (other workers, other
    /// machines) never take the same trial. Nil when no trial is pending.
    public func claimPendingTrial(worker: String, at date: Date = Date()) throws -> TrialRecord? {
        try db.transaction {
            let picked = try db.query("SELECT id FROM trials WHERE status = 'pending' ORDER BY id LIMIT 1\(db.dialect.claimLock)")
            guard let id = picked.first?.first?.int else { return nil }
            try db.query("DELETE FROM trial_epochs WHERE trial = ?", [.integer(Int64(id))])
            try db.query("""
                UPDATE trials SET status = 'running', attempts = attempts + 1, pid = NULL, out_dir = NULL, started_at = ?,
                    finished_at = NULL, objective = NULL, result = NULL, worker = ?, heartbeat_at = \(db.dialect.now)
                WHERE id = ?
                """, [.real(date.timeIntervalSince1970), .text(worker), .integer(Int64(id))])
            return try trial(id: id)
        }
    }

    /// Records the worker process and folder of a trial `worker` has claimed; false if it no longer owns it.
    @discardableResult
    public func recordStart(_ id: Int, worker: String, pid: Int, outputDirectory: String, at date: Date) throws -> Bool {
        try db.transaction {
            !(try db.query("""
                UPDATE trials SET pid = ?, out_dir = ?, started_at = ?, heartbeat_at = \(db.dialect.now)
                WHERE id = ? AND status = 'running' AND worker = ? RETURNING id
                """, [.integer(Int64(pid)), .text(outputDirectory), .real(date.timeIntervalSince1970), .integer(Int64(id)), .text(worker)]).isEmpty)
        }
    }

    /// Refreshes the heartbeat of `worker`'s running trials `ids`; returns those it still owns (a trial
    /// missing from the answer was taken from it as presumed dead, and its process should stop).
    public func heartbeat(_ ids: [Int], worker: String) throws -> Set<Int> {
        guard !ids.isEmpty else { return [] }
        let list = ids.map(String.init).joined(separator: ", ")
        return try db.transaction {
            Set(try db.query("""
                UPDATE trials SET heartbeat_at = \(db.dialect.now)
                WHERE id IN (\(list)) AND status = 'running' AND worker = ? RETURNING id
                """, [.text(worker)]).compactMap { $0.first?.int })
        }
    }

    /// Trials whose worker has been silent for more than `gracePeriod` seconds: each goes back to
    /// `pending` to run again, or, once it has had `maximumAttempts` attempts, ends `failed`. Running
    /// trials of version-1 studies, which had no heartbeats, count as silent. Returns the trials as they
    /// were and whether each was requeued.
    public func reclaimSilentTrials(gracePeriod: Double, maximumAttempts: Int) throws -> [(trial: TrialRecord, requeued: Bool)] {
        try db.transaction {
            let ids = try db.query("""
                SELECT id FROM trials WHERE status = 'running'
                    AND (heartbeat_at IS NULL OR heartbeat_at < \(db.dialect.now) - ?) ORDER BY id\(db.dialect.claimLock)
                """, [.real(gracePeriod)]).compactMap { $0.first?.int }
            return try ids.compactMap { id -> (TrialRecord, Bool)? in
                guard let t = try trial(id: id) else { return nil }
                let silence = "its worker \(t.worker ?? "(unknown)") sent no heartbeat for \(formatNumber(gracePeriod)) s"
                if t.attempts >= maximumAttempts {
                    try endTrial(id, status: .failed, error: "\(silence), on attempt \(t.attempts) of \(maximumAttempts); not retried again")
                    return (t, false)
                }
                try requeueRow(id, note: "\(silence); re-queued (attempt \(t.attempts) of \(maximumAttempts))")
                return (t, true)
            }
        }
    }

    /// Records that `worker` has `slots` free and found nothing pending (0 slots: it is busy again).
    public func markIdle(worker: String, slots: Int) throws {
        try db.transaction {
            if slots <= 0 {
                try db.query("DELETE FROM idle_workers WHERE worker = ?", [.text(worker)])
            } else {
                try db.query("""
                    INSERT INTO idle_workers (worker, slots, seen_at) VALUES (?, ?, \(db.dialect.now))
                    ON CONFLICT (worker) DO UPDATE SET slots = excluded.slots, seen_at = excluded.seen_at
                    """, [.text(worker), .integer(Int64(slots))])
            }
        }
    }

    /// Free slots of workers that were idle within the last `seconds`.
    public func idleSlots(within seconds: Double) throws -> Int {
        try db.query("SELECT COALESCE(SUM(slots), 0) FROM idle_workers WHERE seen_at >= \(db.dialect.now) - ?",
                     [.real(seconds)]).first?.first?.int ?? 0
    }

    /// How many trials are pending.
    public func pendingCount() throws -> Int {
        try db.query("SELECT COUNT(*) FROM trials WHERE status = 'pending'").first?.first?.int ?? 0
    }

    /// Records the epochs a running trial has reported so far (re-recording one is harmless).
    public func recordEpochs(_ id: Int, _ epochs: [EpochRecord]) throws {
        guard !epochs.isEmpty else { return }
        try db.transaction { try insertEpochs(id, epochs) }
    }

    private func insertEpochs(_ id: Int, _ epochs: [EpochRecord]) throws {
        for e in epochs {
            try db.query("""
                INSERT INTO trial_epochs (trial, epoch, dev_accuracy, metrics) VALUES (?, ?, ?, ?)
                ON CONFLICT (trial, epoch) DO UPDATE SET dev_accuracy = excluded.dev_accuracy, metrics = excluded.metrics
                """, [.integer(Int64(id)), .integer(Int64(e.epoch)), SQLValue(e.devAccuracy), .text(e.json)])
        }
    }

    /// The epochs recorded for trial `id`.
    public func epochs(of id: Int) throws -> [EpochRecord] {
        try db.query("SELECT epoch, dev_accuracy, metrics FROM trial_epochs WHERE trial = ? ORDER BY epoch", [.integer(Int64(id))]).map { row in
            EpochRecord(epoch: row[0].int ?? 0, devAccuracy: row[1].double, json: row[2].string ?? "{}")
        }
    }

    /// The epochs of every trial that recorded any, by trial, in one query (a report of a study on a
    /// remote server would otherwise wait for one round trip per trial).
    public func epochsByTrial() throws -> [Int: [EpochRecord]] {
        var epochs: [Int: [EpochRecord]] = [:]
        for row in try db.query("SELECT trial, epoch, dev_accuracy, metrics FROM trial_epochs ORDER BY trial, epoch") {
            guard let trial = row[0].int else { continue }
            epochs[trial, default: []].append(EpochRecord(epoch: row[1].int ?? 0, devAccuracy: row[2].double, json: row[3].string ?? "{}"))
        }
        return epochs
    }

    /// Each trial's last epoch that reported a dev accuracy, and that accuracy, in one query: what a
    /// model-based sampler projects a pruned trial from before every draw.
    public func lastDevAccuracies() throws -> [Int: (epoch: Int, devAccuracy: Double)] {
        var last: [Int: (epoch: Int, devAccuracy: Double)] = [:]
        for row in try db.query("SELECT trial, epoch, dev_accuracy FROM trial_epochs WHERE dev_accuracy IS NOT NULL ORDER BY trial, epoch") {
            guard let trial = row[0].int, let epoch = row[1].int, let accuracy = row[2].double else { continue }
            last[trial] = (epoch, accuracy)
        }
        return last
    }

    /// For every completed (`done`) trial that reported a dev accuracy at `epoch`: its objective minus
    /// that accuracy, what the rest of its epochs added. Model-based samplers project a pruned trial's
    /// last figure with it.
    public func completedGains(fromEpoch epoch: Int) throws -> [Double] {
        try db.query("""
            SELECT t.objective - e.dev_accuracy FROM trial_epochs e JOIN trials t ON t.id = e.trial
            WHERE t.status = 'done' AND e.epoch = ? AND e.dev_accuracy IS NOT NULL AND t.objective IS NOT NULL
            """, [.integer(Int64(epoch))]).compactMap { $0[0].double }
    }

    /// Dev accuracy at `epoch` of every completed (`done`) trial that reported it: the median rule's reference.
    public func completedDevAccuracies(atEpoch epoch: Int) throws -> [Double] {
        try db.query("""
            SELECT e.dev_accuracy FROM trial_epochs e JOIN trials t ON t.id = e.trial
            WHERE t.status = 'done' AND e.epoch = ? AND e.dev_accuracy IS NOT NULL
            """, [.integer(Int64(epoch))]).compactMap { $0[0].double }
    }

    /// Dev accuracy at `epoch` of every trial that reported it, whatever its state (ASHA's rung), but
    /// one; with `amongFirst`, only of the study's first that many trials (in the order they were planned).
    public func devAccuracies(atEpoch epoch: Int, excludingTrial trial: Int, amongFirst first: Int? = nil) throws -> [Double] {
        var sql = "SELECT dev_accuracy FROM trial_epochs WHERE epoch = ? AND trial != ? AND dev_accuracy IS NOT NULL"
        var arguments: [SQLValue] = [.integer(Int64(epoch)), .integer(Int64(trial))]
        if let first {
            sql += " AND trial IN (SELECT id FROM trials ORDER BY id LIMIT ?)"
            arguments.append(.integer(Int64(max(first, 0))))
        }
        return try db.query(sql, arguments).compactMap { $0[0].double }
    }

    /// Ends a trial: `done` with a result, or `failed`/`pruned` with a reason. With `worker`, only while
    /// that worker still owns the running trial; returns false (recording nothing) otherwise.
    @discardableResult
    public func finish(_ id: Int, status: TrialStatus, result: TrialResult? = nil, error: String? = nil,
                       at date: Date = Date(), worker: String? = nil) throws -> Bool {
        try db.transaction {
            if let worker, !(try owns(id, worker: worker)) { return false }
            try endTrial(id, status: status, result: result, error: error, at: date)
            return true
        }
    }

    private func owns(_ id: Int, worker: String) throws -> Bool {
        !(try db.query("SELECT id FROM trials WHERE id = ? AND status = 'running' AND worker = ?\(db.dialect.rowLock)",
                       [.integer(Int64(id)), .text(worker)]).isEmpty)
    }

    /// The caller holds the transaction.
    private func endTrial(_ id: Int, status: TrialStatus, result: TrialResult? = nil, error: String? = nil, at date: Date = Date()) throws {
        guard status.isFinished else {
            throw TuneError.storage(detail: "trial \(id) cannot finish as '\(status.rawValue)'; use done, failed or pruned")
        }
        try db.query("""
            UPDATE trials SET status = ?, finished_at = ?, objective = ?, result = ?, error = ?, heartbeat_at = NULL WHERE id = ?
            """, [.text(status.rawValue), .real(date.timeIntervalSince1970), SQLValue(result?.devAccuracy),
                  SQLValue(try result.map(encode)), SQLValue(error), .integer(Int64(id))])
    }

    /// Puts every `running` trial for which `isAbandoned` holds back to `pending`, dropping its partial
    /// epochs; returns them as they were, so the caller can stop what is left of their workers.
    public func requeueInterrupted(where isAbandoned: (TrialRecord) -> Bool = { _ in true }) throws -> [TrialRecord] {
        try db.transaction {
            let interrupted = try trials(status: .running).filter(isAbandoned)
            for t in interrupted { try requeueRow(t.id, note: t.error) }
            return interrupted
        }
    }

    /// Puts one trial whose worker was stopped (SIGINT/SIGTERM) back to `pending`, with `note` saying
    /// why, so it runs again from scratch. With `worker`, only while that worker still owns it.
    @discardableResult
    public func requeue(_ id: Int, note: String, worker: String? = nil) throws -> Bool {
        try db.transaction {
            if let worker, !(try owns(id, worker: worker)) { return false }
            try requeueRow(id, note: note)
            return true
        }
    }

    /// The caller holds the transaction.
    private func requeueRow(_ id: Int, note: String?) throws {
        try db.query("DELETE FROM trial_epochs WHERE trial = ?", [.integer(Int64(id))])
        try db.query("""
            UPDATE trials SET status = 'pending', pid = NULL, finished_at = NULL, error = ?, worker = NULL, heartbeat_at = NULL
            WHERE id = ?
            """, [SQLValue(note), .integer(Int64(id))])
    }

    /// Takes back the attempt the last claim of pending trial `id` counted, for a claim that started
    /// no worker (its process died between the claim and the worker's start; recovery tells
    /// by the attempt folders). False when the trial is not pending or has no attempt to give back.
    @discardableResult
    public func giveBackUnstartedAttempt(_ id: Int) throws -> Bool {
        try db.transaction {
            !(try db.query("""
                UPDATE trials SET attempts = attempts - 1 WHERE id = ? AND status = 'pending' AND attempts > 0 RETURNING id
                """, [.integer(Int64(id))]).isEmpty)
        }
    }

    /// Records as `done` a trial whose worker finished attempt `attempt` (in `outputDirectory`) but
    /// whose tuner died before recording it: the result and epochs come from that attempt's files.
    public func finishRecovered(_ id: Int, attempt: Int, outputDirectory: String, result: TrialResult, epochs: [EpochRecord],
                                startedAt: Date?, finishedAt: Date) throws {
        let resultText = try encode(result)
        try db.transaction {
            try db.query("DELETE FROM trial_epochs WHERE trial = ?", [.integer(Int64(id))])
            try insertEpochs(id, epochs)
            try db.query("""
                UPDATE trials SET status = 'done', attempts = CASE WHEN attempts > ? THEN attempts ELSE ? END, pid = NULL,
                    out_dir = ?, started_at = ?, finished_at = ?, objective = ?, result = ?, error = NULL, worker = NULL, heartbeat_at = NULL
                WHERE id = ?
                """, [.integer(Int64(attempt)), .integer(Int64(attempt)), .text(outputDirectory), SQLValue(startedAt?.timeIntervalSince1970),
                      .real(finishedAt.timeIntervalSince1970), .real(result.devAccuracy), .text(resultText), .integer(Int64(id))])
        }
    }

    // MARK: Copy

    /// Copies this study, row for row, into `destination` (a freshly created, empty study store) in
    /// one transaction; returns how many trials and epoch records it copied.
    public func copy(to destination: StudyStore) throws -> (trials: Int, epochs: Int) {
        let columns: [(table: String, columns: String)] = [
            ("meta", "key, value"),
            ("rounds", "round, box, created_at"),
            ("trials", trialColumns.replacingOccurrences(of: "NULL, NULL", with: "worker, heartbeat_at")),
            ("trial_epochs", "trial, epoch, dev_accuracy, metrics"),
        ]
        let tables = try columns.map { entry in
            (entry, try db.query("SELECT \(hasOwners || entry.table != "trials" ? entry.columns : trialColumns) FROM \(entry.table)"))
        }
        guard try destination.trials().isEmpty, try destination.rounds().isEmpty else {
            throw TuneError.storage(detail: "\(destination.path) already holds trials; copy into a new study")
        }
        try destination.db.transaction {
            for ((table, names), rows) in tables {
                let placeholders = Array(repeating: "?", count: names.split(separator: ",").count).joined(separator: ", ")
                for row in rows where !(table == "meta" && row.first == .text("schema_version")) {
                    let conflict = table == "meta" ? " ON CONFLICT (key) DO UPDATE SET value = excluded.value" : ""
                    try destination.db.query("INSERT INTO \(table) (\(names)) VALUES (\(placeholders))\(conflict)", row)
                }
            }
        }
        return (tables[2].1.count, tables[3].1.count)
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
