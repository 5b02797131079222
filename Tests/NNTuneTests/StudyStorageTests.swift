import Foundation
import XCTest
import PostgresTestServer
@testable import NNTune

/// The study store's contract, held on both stores: SQLite (a file) and PostgreSQL (a private server
/// started for the tests, see ``PostgresServer``). Atomic claims, heartbeats and retries, ownership
/// of a trial's end, schema versions, and copying a study between stores.
final class StudyStorageTests: XCTestCase {
    /// Runs `body` on a fresh study in each store.
    private func forEachStore(_ label: String, _ body: (StudyStorage, StudyLocation) throws -> Void) throws {
        let root = try makeTemporaryDirectory(label)
        defer { try? FileManager.default.removeItem(at: root) }
        let server = try PostgresServer.shared()
        let location = try StudyLocation(root: root, name: "\(label)-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: location.directory, withIntermediateDirectories: true)
        for storage in [StudyStorage.sqlite(path: nil), .postgres(url: server.url)] {
            // Assertion messages name the store through `storage` in the failure above or the test's own text.
            do {
                try body(storage, location)
            } catch {
                XCTFail("on \(storage): \(error)")
            }
        }
    }

    /// A study with `count` pending trials in round 0.
    @discardableResult
    private func plannedStudy(_ storage: StudyStorage, _ location: StudyLocation, count: Int) throws -> (StudyStore, [Int]) {
        let store = try storage.open(location, create: true)
        let space = try learningRateSpace()
        try store.saveConfiguration(StudyConfiguration(space: space, trialsPerRound: count))
        let assignments = RandomSampler(seed: 3).assignments(round: 0, count: count, box: space.fullBox, space: space)
        return (store, try store.addRound(0, box: space.fullBox, assignments: assignments))
    }

    func testConcurrentClaimsNeverTakeOneTrialTwice() throws {
        try forEachStore("claims") { storage, location in
            let (_, ids) = try plannedStudy(storage, location, count: 60)
            let claimed = Claims()
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                do {
                    // Each worker has its own connection, as separate processes would.
                    let store = try storage.open(location, create: false)
                    while let trial = try store.claimPendingTrial(worker: "host-\(worker):\(worker)") {
                        claimed.add(trial.id, by: worker)
                    }
                } catch {
                    claimed.fail("\(error)")
                }
            }
            XCTAssertEqual(claimed.failures, [])
            XCTAssertEqual(claimed.ids.sorted(), ids, "every trial claimed exactly once")
            let store = try storage.open(location, create: false, readOnly: true)
            XCTAssertTrue(try store.trials().allSatisfy { $0.status == .running && $0.attempts == 1 && $0.worker != nil })
        }
    }

    /// ASHA's rung query: every other trial's accuracy at an epoch, or only the study's first few
    /// (a model-based sampler's start-up, ``AshaPruner/referenceTrials``).
    func testRungAccuraciesAmongEveryTrialOrTheFirstOnes() throws {
        try forEachStore("rung") { storage, location in
            let (store, ids) = try plannedStudy(storage, location, count: 5)
            for (id, accuracy) in zip(ids, [0.5, 0.6, 0.7, 0.8, 0.9]) {
                try store.recordEpochs(id, [EpochRecord(epoch: 1, devAccuracy: accuracy, json: "{}"),
                                            EpochRecord(epoch: 2, devAccuracy: accuracy + 0.05, json: "{}")])
            }
            XCTAssertEqual(try store.devAccuracies(atEpoch: 1, excludingTrial: ids[4]).sorted(), [0.5, 0.6, 0.7, 0.8], "\(storage)")
            XCTAssertEqual(try store.devAccuracies(atEpoch: 1, excludingTrial: ids[4], amongFirst: 2).sorted(), [0.5, 0.6], "\(storage)")
            XCTAssertEqual(try store.devAccuracies(atEpoch: 1, excludingTrial: ids[0], amongFirst: 2), [0.6], "\(storage)")
            XCTAssertEqual(try store.devAccuracies(atEpoch: 2, excludingTrial: ids[4], amongFirst: 3).sorted(), [0.55, 0.65, 0.75], "\(storage)")
        }
    }

    /// The one-query reads a report and a model-based sampler use: every trial's epochs, and each
    /// trial's last epoch with a dev accuracy (an epoch without one does not count).
    func testEpochsOfEveryTrialInOneRead() throws {
        try forEachStore("epochs") { storage, location in
            let (store, ids) = try plannedStudy(storage, location, count: 3)
            try store.recordEpochs(ids[0], [EpochRecord(epoch: 1, devAccuracy: 0.5, json: #"{"epoch":1}"#),
                                            EpochRecord(epoch: 2, devAccuracy: 0.6, json: #"{"epoch":2}"#)])
            try store.recordEpochs(ids[2], [EpochRecord(epoch: 1, devAccuracy: 0.7, json: "{}"),
                                            EpochRecord(epoch: 2, devAccuracy: nil, json: "{}")])
            let epochs = try store.epochsByTrial()
            XCTAssertEqual(epochs.keys.sorted(), [ids[0], ids[2]], "\(storage)")
            for id in ids { XCTAssertEqual(epochs[id] ?? [], try store.epochs(of: id), "\(storage), trial \(id)") }
            let last = try store.lastDevAccuracies()
            XCTAssertEqual(last.keys.sorted(), [ids[0], ids[2]], "\(storage)")
            XCTAssertEqual(last[ids[0]]?.epoch, 2)
            XCTAssertEqual(last[ids[0]]?.devAccuracy, 0.6)
            XCTAssertEqual(last[ids[2]]?.epoch, 1, "epoch 2 reported no dev accuracy")
            XCTAssertEqual(last[ids[2]]?.devAccuracy, 0.7)
        }
    }

    /// A tuner that died mid-claim: recovery re-queues its trials, and gives back the attempt of a
    /// claim that started no worker (no attempt folder of its own), so the trial is neither charged for
    /// it nor counted as having run. A claim whose worker started (its folder exists), recorded or
    /// not, keeps its attempt.
    func testRecoveryGivesBackTheAttemptOfAClaimThatStartedNoWorker() throws {
        try forEachStore("unstarted") { storage, location in
            let (store, ids) = try plannedStudy(storage, location, count: 3)
            let trials = location.directory.appendingPathComponent("trials-\(UUID().uuidString.prefix(8))")
            let gone = Process()
            gone.executableURL = URL(fileURLWithPath: "/bin/true")
            try gone.run()
            gone.waitUntilExit()
            let deadTuner = "\(WorkerIdentity.hostName):\(gone.processIdentifier)"
            for _ in ids { _ = try store.claimPendingTrial(worker: deadTuner) }
            // ids[0]: claimed only. ids[1]: its worker's folder made, the start not recorded. ids[2]: recorded.
            let folder = trials.appendingPathComponent(String(format: "trial-%04d/attempt-1", ids[1]))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            XCTAssertTrue(try store.recordStart(ids[2], worker: deadTuner, pid: 4242, outputDirectory: "attempt-1", at: Date()))
            var lines: [String] = []
            try TrialRecovery(store: store, trialsDirectory: trials, worker: WorkerCommand(executable: "/bin/true"),
                              log: { lines.append($0) }).run()
            let after = try ids.map { try XCTUnwrap(try store.trial(id: $0)) }
            XCTAssertEqual(after.map(\.status), [.pending, .pending, .pending], "\(storage)")
            XCTAssertEqual(after.map(\.attempts), [0, 1, 1], "\(storage)")
            XCTAssertTrue(lines.contains { $0.contains("trial \(ids[0]) was claimed but its worker never started") }, "\(lines)")
            XCTAssertFalse(try store.giveBackUnstartedAttempt(ids[0]), "nothing left to give back")
            XCTAssertEqual(try store.claimPendingTrial(worker: "b:2")?.attempts, 1, "the claim that runs it is its first attempt")
        }
    }

    func testSilentTrialsAreRequeuedThenFailedAfterTheRetryLimit() throws {
        try forEachStore("heartbeat") { storage, location in
            let (store, ids) = try plannedStudy(storage, location, count: 2)
            let first = try XCTUnwrap(try store.claimPendingTrial(worker: "a:1"))
            XCTAssertEqual(first.id, ids[0])
            XCTAssertTrue(try store.recordStart(first.id, worker: "a:1", pid: 4242, outputDirectory: "attempt-1", at: Date()))
            try store.recordEpochs(first.id, [EpochRecord(epoch: 1, devAccuracy: 0.5, json: "{}")])
            XCTAssertEqual(try store.heartbeat([first.id], worker: "a:1"), [first.id])
            XCTAssertEqual(try store.reclaimSilentTrials(gracePeriod: 30, maximumAttempts: 2).count, 0, "a fresh heartbeat is not silent")

            Thread.sleep(forTimeInterval: 0.3)
            let reclaimed = try store.reclaimSilentTrials(gracePeriod: 0.1, maximumAttempts: 2)
            XCTAssertEqual(reclaimed.map(\.trial.id), [first.id])
            XCTAssertEqual(reclaimed.map(\.requeued), [true])
            let requeued = try XCTUnwrap(try store.trial(id: first.id))
            XCTAssertEqual(requeued.status, .pending)
            XCTAssertNil(requeued.worker)
            XCTAssertTrue(requeued.error?.contains("no heartbeat") == true, requeued.error ?? "")
            XCTAssertEqual(try store.epochs(of: first.id), [], "a re-queued trial starts its epochs again")

            // The silent worker wakes up: it owns nothing any more and cannot record an end.
            XCTAssertEqual(try store.heartbeat([first.id], worker: "a:1"), [])
            XCTAssertFalse(try store.finish(first.id, status: .done, result: TrialResult(devAccuracy: 0.9), worker: "a:1"))

            let second = try XCTUnwrap(try store.claimPendingTrial(worker: "b:2"))
            XCTAssertEqual(second.id, first.id, "the re-queued trial is claimed first")
            XCTAssertEqual(second.attempts, 2)
            XCTAssertTrue(try store.recordStart(second.id, worker: "b:2", pid: 4343, outputDirectory: "attempt-2", at: Date()))
            Thread.sleep(forTimeInterval: 0.3)
            let failed = try store.reclaimSilentTrials(gracePeriod: 0.1, maximumAttempts: 2)
            XCTAssertEqual(failed.map(\.requeued), [false], "the second silence is past the limit of 2 attempts")
            let final = try XCTUnwrap(try store.trial(id: first.id))
            XCTAssertEqual(final.status, .failed)
            XCTAssertTrue(final.error?.contains("attempt 2 of 2") == true, final.error ?? "")

            let other = try XCTUnwrap(try store.claimPendingTrial(worker: "b:2"))
            XCTAssertFalse(try store.finish(other.id, status: .done, result: TrialResult(devAccuracy: 0.7), worker: "c:3"))
            XCTAssertTrue(try store.finish(other.id, status: .done, result: TrialResult(devAccuracy: 0.7), worker: "b:2"))
            XCTAssertNil(try store.claimPendingTrial(worker: "b:2"))
        }
    }

    /// A PostgreSQL study exists once its tables do. Its creator makes the schema, then the tables and
    /// the schema version in one transaction; in between, the bare schema is a study still being
    /// created. A watcher used to find it there and fail to open it ("holds no study"), and a worker
    /// would have created the tables itself, racing the coordinator.
    func testAPostgresSchemaWithoutItsTablesIsNotAStudyYet() throws {
        let server = try PostgresServer.shared()
        let root = try makeTemporaryDirectory("half")
        defer { try? FileManager.default.removeItem(at: root) }
        let location = try StudyLocation(root: root, name: "half-\(UUID().uuidString.prefix(8).lowercased())")
        let storage = StudyStorage.postgres(url: server.url)
        let admin = try PostgresDatabase(url: server.url)
        try admin.execute("CREATE SCHEMA \"nn_study_\(location.name)\"")

        XCTAssertFalse(try storage.exists(location))
        XCTAssertFalse(try admin.studyNames().contains(location.name), "not listed either")
        for readOnly in [false, true] {
            XCTAssertThrowsError(try storage.open(location, create: false, readOnly: readOnly)) { error in
                guard case TuneError.unknownStudy = error else { return XCTFail("readOnly \(readOnly): got \(error)") }
            }
        }
        // Its creator finishes the study in the schema that is already there.
        _ = try storage.open(location, create: true)
        XCTAssertTrue(try storage.exists(location))
        XCTAssertTrue(try admin.studyNames().contains(location.name))
        XCTAssertNoThrow(try storage.open(location, create: false, readOnly: true))
    }

    func testNewerSchemaIsRefused() throws {
        try forEachStore("schema") { storage, location in
            let (store, _) = try plannedStudy(storage, location, count: 1)
            try store.db.query("UPDATE meta SET value = '99' WHERE key = 'schema_version'", [])
            for readOnly in [false, true] {
                XCTAssertThrowsError(try storage.open(location, create: false, readOnly: readOnly)) { error in
                    XCTAssertTrue("\(error)".contains("schema version 99, written by a newer nn"), "\(error)")
                }
            }
        }
    }

    func testVersionOneStudyIsUpgradedAndItsRunningTrialsReclaimed() throws {
        let dir = try makeTemporaryDirectory("v1")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("study.sqlite").path
        do {
            // The tables as version 1 (before owners and heartbeats) made them.
            let old = try SQLiteDatabase(path: path)
            try old.execute("""
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE rounds (round INTEGER PRIMARY KEY, box TEXT NOT NULL, created_at REAL NOT NULL);
                CREATE TABLE trials (id INTEGER PRIMARY KEY, round INTEGER NOT NULL REFERENCES rounds(round), params TEXT NOT NULL,
                    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, pid INTEGER, out_dir TEXT, started_at REAL,
                    finished_at REAL, objective REAL, result TEXT, error TEXT);
                CREATE TABLE trial_epochs (trial INTEGER NOT NULL, epoch INTEGER NOT NULL, dev_accuracy REAL, metrics TEXT NOT NULL,
                    PRIMARY KEY (trial, epoch));
                INSERT INTO meta VALUES ('schema_version', '1');
                INSERT INTO rounds VALUES (0, '{"ranges":{}}', 0);
                INSERT INTO trials (id, round, params, status, attempts) VALUES (1, 0, '{"lr":0.01}', 'running', 1);
                """)
        }
        XCTAssertEqual(try StudyStore(path: path, readOnly: true).trials().map(\.status), [.running], "read-only opens do not upgrade")
        let store = try StudyStore(path: path)
        XCTAssertEqual(try store.db.query("SELECT value FROM meta WHERE key = 'schema_version'", []).first?.first, .text("2"))
        XCTAssertEqual(try store.reclaimSilentTrials(gracePeriod: 60, maximumAttempts: 3).map(\.requeued), [true],
                       "a version-1 running trial has no heartbeat, so no live worker")
    }

    func testCopyMovesAStudyBetweenStoresWhole() throws {
        let root = try makeTemporaryDirectory("copy")
        defer { try? FileManager.default.removeItem(at: root) }
        let server = try PostgresServer.shared()
        let location = try StudyLocation(root: root, name: "copy-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: location.directory, withIntermediateDirectories: true)
        let (source, ids) = try plannedStudy(.sqlite(path: nil), location, count: 3)
        for (i, id) in ids.enumerated() {
            _ = try source.claimPendingTrial(worker: "a:1")
            try source.recordEpochs(id, [EpochRecord(epoch: 1, devAccuracy: 0.25 * Double(i), json: #"{"epoch": 1}"#)])
            try source.finish(id, status: i == 2 ? .pruned : .done, result: i == 2 ? nil : TrialResult(devAccuracy: 0.25 * Double(i)),
                              error: i == 2 ? "below the median" : nil, worker: "a:1")
        }
        let destination = try StudyStorage.postgres(url: server.url).open(location, create: true)
        let counts = try source.copy(to: destination)
        XCTAssertEqual(counts.trials, 3)
        XCTAssertEqual(counts.epochs, 3)
        XCTAssertEqual(try destination.trials(), try source.trials())
        XCTAssertEqual(try destination.configuration(), try source.configuration())
        XCTAssertEqual(try destination.rounds().map(\.box), try source.rounds().map(\.box))
        for id in ids { XCTAssertEqual(try destination.epochs(of: id), try source.epochs(of: id)) }
        XCTAssertEqual(try StudyReport(name: location.name, store: destination).table(top: 5),
                       try StudyReport(name: location.name, store: source).table(top: 5))
        XCTAssertThrowsError(try source.copy(to: destination), "a second copy into a study that holds trials is refused")
    }
}

/// Trial ids claimed by concurrent workers, and their errors.
private final class Claims: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed: [Int] = []
    private var errors: [String] = []

    func add(_ id: Int, by worker: Int) { lock.withLock { claimed.append(id) } }
    func fail(_ message: String) { lock.withLock { errors.append(message) } }
    var ids: [Int] { lock.withLock { claimed } }
    var failures: [String] { lock.withLock { errors } }
}
