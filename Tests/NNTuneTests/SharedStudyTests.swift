import Foundation
import XCTest
import PostgresTestServer
@testable import NNTune
#if canImport(Glibc)
import Glibc
#endif

/// A study shared through PostgreSQL by a coordinator and `nn tune worker` processes, run as users
/// run them (the built `nn`, real `nn train` trials on the digits fixture), and the errors of a store
/// that cannot be used.
final class SharedStudyTests: XCTestCase {
    static let trialCount = 8

    private static var digits: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/digits.csv").path
    }

    /// `nn tune run` options shared by the PostgreSQL study and its SQLite twin: the same space, seed
    /// and trials, so the same configurations are drawn.
    private static func studyArguments(_ study: String, space: URL) -> [String] {
        ["--study", study, "--space", space.path, "--trials", String(trialCount), "--seed", "5"]
    }

    private static let trainArguments = ["--", "--data", digits, "--epochs", "3", "--layers", "16", "--batch", "64"]

    func testWorkersShareAPostgresStudyAndAKilledWorkersTrialRunsElsewhere() throws {
        let server = try PostgresServer.shared()
        let base = try makeTemporaryDirectory("shared")
        defer { try? FileManager.default.removeItem(at: base) }
        let machineA = base.appendingPathComponent("a"), machineB = base.appendingPathComponent("b")
        for dir in [machineA, machineB] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        let space = base.appendingPathComponent("space.json")
        try Data(#"{"lr": "logUniform(1e-3, 0.1)"}"#.utf8).write(to: space)
        let study = "shared-\(UUID().uuidString.prefix(8).lowercased())"
        let storage = ["--storage", server.url]

        // The coordinator runs no trial itself (--parallel 0): the three workers run them all.
        let coordinator = try TuneCLI.start(
            ["tune", "run"] + Self.studyArguments(study, space: space) + storage
                + ["--root", machineA.appendingPathComponent("runs").path, "--parallel", "0", "--heartbeat", "0.5", "--grace", "4"]
                + Self.trainArguments,
            in: machineA, label: "coordinator")
        defer { if coordinator.process.isRunning { kill(coordinator.pid, SIGKILL) } }
        let location = try StudyLocation(root: machineA, name: study)
        let store = try waitForStudy(StudyStorage.postgres(url: server.url), location, coordinator: coordinator)

        // Two workers on machine A (sharing its trial folders) and one on "machine B", another working folder.
        func worker(_ dir: URL, _ label: String) throws -> TuneCLI {
            try TuneCLI.start(["tune", "worker", "--study", study, "--root", dir.appendingPathComponent("runs").path] + storage,
                              in: dir, label: label)
        }
        let doomed = try worker(machineA, "worker-1")
        let survivors = [try worker(machineA, "worker-2"), try worker(machineB, "worker-3")]
        defer { for w in survivors + [doomed] where w.process.isRunning { kill(w.pid, SIGKILL) } }

        // SIGKILL worker 1 once a trial of its own has reported an epoch: mid-trial.
        let doomedIdentity = "\(WorkerIdentity.hostName):\(doomed.pid)"
        var victim: TrialRecord?
        let deadline = Date().addingTimeInterval(120)
        while victim == nil, Date() < deadline, doomed.process.isRunning {
            Thread.sleep(forTimeInterval: 0.05)
            victim = try store.trials(status: .running).first { t in
                t.worker == doomedIdentity && t.outputDirectory != nil && (try? store.epochs(of: t.id).isEmpty) == false
            }
        }
        let killed = try XCTUnwrap(victim, "worker 1 never ran a trial: \(doomed.stderr)")
        kill(doomed.pid, SIGKILL)
        doomed.wait(timeout: 10)
        let attemptFolder = try XCTUnwrap(killed.outputDirectory)
        var orphans = processes(mentioning: URL(fileURLWithPath: attemptFolder))
        let orphanDeadline = Date().addingTimeInterval(5)
        while !orphans.isEmpty, Date() < orphanDeadline {
            Thread.sleep(forTimeInterval: 0.05)
            orphans = processes(mentioning: URL(fileURLWithPath: attemptFolder))
        }
        XCTAssertEqual(orphans, [], "the killed worker's nn train must die with it")

        coordinator.wait(timeout: 240)
        XCTAssertEqual(coordinator.status, 0, coordinator.stderr)
        for w in survivors {
            w.wait(timeout: 30)
            XCTAssertEqual(w.status, 0, w.stderr)
            XCTAssertTrue(w.stdout.contains("is complete"), w.stdout)
        }

        let trials = try store.trials()
        XCTAssertEqual(trials.count, Self.trialCount)
        XCTAssertEqual(trials.filter { $0.status == .done && $0.result != nil }.count, Self.trialCount, "no finished trial lost: \(trials)")
        let rerun = try XCTUnwrap(trials.first { $0.id == killed.id })
        XCTAssertEqual(rerun.attempts, 2, "the killed worker's trial ran once more")
        XCTAssertNotEqual(rerun.worker, doomedIdentity, "another worker finished it")
        XCTAssertEqual(trials.filter { $0.id != killed.id }.map(\.attempts), Array(repeating: 1, count: Self.trialCount - 1))
        // Every trial finished exactly once, across every process's log.
        let logs = ([coordinator, doomed] + survivors).map(\.stdout).joined(separator: "\n")
        for t in trials {
            let done = logs.components(separatedBy: "\n").filter { $0.hasPrefix("trial \(t.id) done") }
            XCTAssertEqual(done.count, 1, "trial \(t.id): \(done)")
        }

        // The same study on SQLite, run by one tuner: the same configurations, hence the same results.
        let reference = base.appendingPathComponent("reference")
        try FileManager.default.createDirectory(at: reference, withIntermediateDirectories: true)
        let local = try TuneCLI.run(["tune", "run"] + Self.studyArguments(study, space: space)
                                        + ["--root", reference.path, "--parallel", "2"] + Self.trainArguments,
                                    in: reference, label: "sqlite", timeout: 240)
        XCTAssertEqual(local.status, 0, local.stderr)
        let sqliteTrials = try StudyStore(path: reference.appendingPathComponent("\(study)/study.sqlite").path, readOnly: true).trials()
        XCTAssertEqual(sqliteTrials.map(\.id), trials.map(\.id))
        XCTAssertEqual(sqliteTrials.map(\.assignment), trials.map(\.assignment), "same seed, same sampled configurations")
        XCTAssertEqual(sqliteTrials.map { $0.result?.devAccuracy }, trials.map { $0.result?.devAccuracy },
                       "nn train is deterministic for a configuration, whichever worker ran it")
        let report = try TuneCLI.run(["tune", "report", "--study", study, "--root", machineA.path] + storage + ["--top", "3"],
                                     in: base, label: "report")
        let sqliteReport = try TuneCLI.run(["tune", "report", "--study", study, "--root", reference.path, "--top", "3"],
                                           in: base, label: "sqlite-report")
        XCTAssertEqual(Self.rankedRows(report.stdout), Self.rankedRows(sqliteReport.stdout))
        XCTAssertFalse(Self.rankedRows(report.stdout).isEmpty, report.stdout + report.stderr)
    }

    /// The report's table rows with the wall-time column (which differs between runs) blanked out:
    /// the columns are right-aligned under their headers.
    private static func rankedRows(_ text: String) -> [String] {
        let lines = text.split(separator: "\n").map(String.init)
        guard let header = lines.first(where: { $0.hasPrefix("rank") }), let wall = header.range(of: "wall s") else { return [] }
        let start = header.distance(from: header.startIndex, to: wall.lowerBound) - 2
        let end = header.distance(from: header.startIndex, to: wall.upperBound)
        return lines.filter { $0.contains(" %") && $0.first == " " }.map { line in
            let characters = Array(line)
            return String(characters.enumerated().map { (start..<end).contains($0.offset) ? " " : $0.element })
        }
    }

    /// Waits until the coordinator has created the study and planned its trials.
    private func waitForStudy(_ storage: StudyStorage, _ location: StudyLocation, coordinator: TuneCLI) throws -> StudyStore {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, coordinator.process.isRunning {
            if try storage.exists(location) {
                let store = try storage.open(location, create: false, readOnly: true)
                if try store.trials().count == Self.trialCount { return store }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestFailure("the coordinator did not plan the study: \(coordinator.stderr)")
    }

    func testUnusableStoresAreOneLineExitTwoAndWriteNothing() throws {
        let server = try PostgresServer.shared()
        let base = try makeTemporaryDirectory("bad-store")
        defer { try? FileManager.default.removeItem(at: base) }
        let root = base.appendingPathComponent("runs")
        let port = try PostgresServer.freePort()
        let goodURL = server.url
        let cases: [(storage: String, mentions: String)] = [
            ("mysql://nn@127.0.0.1/db", "unsupported scheme 'mysql'"),
            ("postgresql://nn:wrong-password@[::1/postgres", "not a PostgreSQL URL"),
            ("postgresql://nn:\(server.password)@127.0.0.1:\(port)/postgres", "check that the server runs"),
            (goodURL.replacingOccurrences(of: server.password, with: "wrong-password"), "password authentication failed"),
        ]
        for c in cases {
            for command in [["tune", "run", "--study", "s", "--trials", "1"], ["tune", "worker", "--study", "s"], ["tune", "report", "--study", "s"]] {
                let train = command[1] == "run" ? ["--", "--data", "digits"] : []
                let run = try TuneCLI.run(command + ["--root", root.path, "--storage", c.storage] + train,
                                          in: base, label: "bad", timeout: 30)
                let lines = run.stderr.split(separator: "\n")
                XCTAssertEqual(run.status, 2, "\(command) \(c.storage): \(run.stderr)")
                XCTAssertEqual(lines.count, 1, "\(command) \(c.storage): \(run.stderr)")
                XCTAssertTrue(run.stderr.contains(c.mentions), "\(command) \(c.storage): \(run.stderr)")
                XCTAssertFalse(run.stderr.contains("wrong-password"), "a password is never printed: \(run.stderr)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: root.path), "\(command) \(c.storage) wrote \(root.path)")
            }
        }
        for command in [["tune", "worker"], ["tune", "report"]] {
            let run = try TuneCLI.run(command + ["--study", "no-such-study", "--root", root.path, "--storage", goodURL],
                                      in: base, label: "unknown", timeout: 30)
            XCTAssertEqual(run.status, 2, run.stderr)
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
            XCTAssertTrue(run.stderr.contains("study 'no-such-study': no such study"), run.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: root.path), "\(command) wrote \(root.path)")
        }
    }
}
