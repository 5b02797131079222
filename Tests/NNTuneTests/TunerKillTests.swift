import Foundation
import XCTest
@testable import NNTune
#if canImport(Glibc)
import Glibc
#endif

/// Crash safety of the tuner itself: SIGKILL it mid-study, resume, and check that no finished
/// trial is lost or run twice.
///
/// The tuner must be a separate process to be killed, so the test re-launches this test binary
/// running only ``testHostedStudyRunsToCompletion`` with `NN_TUNE_TEST_HOST_DIR` set: that test then
/// acts as the tuner process for the study in that folder.
final class TunerKillTests: XCTestCase {
    static let hostVariable = "NN_TUNE_TEST_HOST_DIR"
    static let trialCount = 8

    private static func fakeWorker(_ dir: URL) -> FakeWorker {
        var fake = FakeWorker(directory: dir.appendingPathComponent("fake"))
        fake.epochs = 3
        fake.epochSeconds = 0.2
        return fake
    }

    private static func configuration() throws -> StudyConfiguration {
        StudyConfiguration(space: try learningRateSpace(), seed: 17, trialsPerRound: trialCount)
    }

    /// Runs (or resumes) the study stored in `dir` to completion, as `nn tune --study` would.
    private static func runStudy(in dir: URL) throws -> StudyStore {
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        guard let configuration = try store.configuration() else {
            throw TuneError.invalidStudy(name: dir.path, detail: "the test saves the configuration before running")
        }
        let worker = try fakeWorker(dir).install()
        try StudyRunner(store: store, configuration: configuration, directory: dir, worker: worker,
                        options: ExecutionOptions(parallel: 2, pollInterval: 0.02), log: { _ in }).run()
        return store
    }

    /// In a host process: the tuner for the killed-study test. Otherwise: the same study runs to completion in-process.
    func testHostedStudyRunsToCompletion() throws {
        if let hostDirectory = ProcessInfo.processInfo.environment[Self.hostVariable] {
            _ = try Self.runStudy(in: URL(fileURLWithPath: hostDirectory))
            return
        }
        let dir = try makeTemporaryDirectory("hosted")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        try store.saveConfiguration(try Self.configuration())
        let trials = try Self.runStudy(in: dir).trials()
        XCTAssertEqual(trials.count, Self.trialCount)
        XCTAssertTrue(trials.allSatisfy { $0.status == .done && $0.attempts == 1 })
        XCTAssertEqual(Self.fakeWorker(dir).events().starts.values.reduce(0, +), Self.trialCount)
    }

    func testKilledTunerResumesWithoutLosingOrRepeatingTrials() throws {
        let dir = try makeTemporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
            try store.saveConfiguration(try Self.configuration())
        }
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let host = Process()
        host.executableURL = URL(fileURLWithPath: testBinary)
        host.arguments = ["NNTuneTests.TunerKillTests/testHostedStudyRunsToCompletion"]
        host.environment = ProcessInfo.processInfo.environment.merging([Self.hostVariable: dir.path]) { $1 }
        host.standardOutput = try FileHandle(forWritingTo: dir.appendingPathComponent("host.log").touched())
        host.standardError = host.standardOutput
        try host.run()

        // Kill the tuner once at least two trials are done and another is mid-run (about 1.5 s in).
        let deadline = Date().addingTimeInterval(60)
        var snapshot: [TrialRecord] = []
        while Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            guard host.isRunning else { break }
            let trials = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path, readOnly: true).trials()
            if trials.filter({ $0.status == .done }).count >= 2, trials.contains(where: { $0.status == .running }) {
                kill(host.processIdentifier, SIGKILL)
                host.waitUntilExit()
                break
            }
        }
        XCTAssertEqual(host.terminationReason, .uncaughtSignal,
                       "the host tuner should have been killed mid-study; its log: \((try? String(contentsOf: dir.appendingPathComponent("host.log"), encoding: .utf8)) ?? "")")
        snapshot = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path).trials()
        let doneBefore = snapshot.filter { $0.status == .done }
        let runningBefore = snapshot.filter { $0.status == .running }
        XCTAssertGreaterThanOrEqual(doneBefore.count, 2)
        XCTAssertFalse(runningBefore.isEmpty)
        XCTAssertLessThan(doneBefore.count, Self.trialCount, "the kill must land mid-study")

        let store = try Self.runStudy(in: dir)

        let after = try store.trials()
        XCTAssertEqual(after.map(\.id), Array(1...Self.trialCount), "no trial lost or added")
        XCTAssertTrue(after.allSatisfy { $0.status == .done }, "\(after.map(\.status))")
        let starts = Self.fakeWorker(dir).events().starts
        for t in doneBefore {
            XCTAssertEqual(after.first { $0.id == t.id }, t, "finished trial \(t.id) changed on resume")
            XCTAssertEqual(starts[t.id], 1, "finished trial \(t.id) ran again")
        }
        for t in runningBefore {
            // Re-run once, unless its orphaned worker finished before the resume stopped it: then its result is taken.
            let attempts = after.first { $0.id == t.id }?.attempts
            XCTAssertTrue(attempts == 2 || (attempts == 1 && starts[t.id] == 1), "interrupted trial \(t.id): \(attempts ?? 0) attempts")
        }
    }
}

private extension URL {
    /// Creates an empty file here and returns the URL (FileHandle(forWritingTo:) needs an existing file).
    func touched() -> URL {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return self
    }
}
