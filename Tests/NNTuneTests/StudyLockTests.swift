import Foundation
import XCTest
@testable import NNTune
#if canImport(Glibc)
import Glibc
#endif

/// One tuner per study: a second is refused at once, naming the first one's PID.
final class StudyLockTests: XCTestCase {
    func testASecondLockIsRefusedUntilTheFirstIsReleased() throws {
        let dir = try makeTemporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try StudyLock(directory: dir, studyName: "s")
        XCTAssertThrowsError(try StudyLock(directory: dir, studyName: "s")) { error in
            XCTAssertEqual(error as? TuneError, .studyInUse(name: "s", pid: Int(getpid()), lockPath: first.path))
            XCTAssertTrue("\(error)".contains("pid \(getpid())"), "\(error)")
        }
        first.release()
        XCTAssertNoThrow(try StudyLock(directory: dir, studyName: "s"), "a released lock is free again")
    }

    func testSecondTunerIsRefusedAndTheFirstCompletesUntouched() throws {
        let root = try makeTemporaryDirectory("two-tuners")
        defer { try? FileManager.default.removeItem(at: root) }
        var fake = FakeWorker(directory: root.appendingPathComponent("fake"))
        fake.epochSeconds = 0.2
        let worker = try fake.install()
        let space = root.appendingPathComponent("space.json")
        try Data(#"{"lr": "logUniform(1e-4, 1)"}"#.utf8).write(to: space)
        let studies = root.appendingPathComponent("studies")
        let arguments = ["tune", "run", "--study", "s", "--root", studies.path, "--space", space.path, "--trials", "6",
                         "--parallel", "2", "--worker", worker.executable]
        let first = try TuneCLI.start(arguments, in: root, label: "first")
        let database = studies.appendingPathComponent("s/study.sqlite").path
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, first.process.isRunning {
            if FileManager.default.fileExists(atPath: database),
               let trials = try? StudyStore(path: database, readOnly: true).trials(), trials.contains(where: { $0.status == .running }) { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertTrue(first.process.isRunning, "the first tuner should be mid-study: \(first.stderr)")

        let second = try TuneCLI.run(arguments, in: root, label: "second", timeout: 10)
        XCTAssertEqual(second.status, 1, second.stderr)
        XCTAssertTrue(second.stderr.contains("in use by another `nn tune run` (pid \(first.pid)"), second.stderr)
        XCTAssertFalse(second.stderr.contains("Fatal error"))

        first.wait(timeout: 60)
        XCTAssertEqual(first.status, 0, first.stderr)
        let trials = try StudyStore(path: database, readOnly: true).trials()
        XCTAssertEqual(trials.count, 6)
        XCTAssertTrue(trials.allSatisfy { $0.status == .done && $0.attempts == 1 }, "\(trials.map { ($0.id, $0.status, $0.attempts) })")
        XCTAssertEqual(fake.events().starts, Dictionary(uniqueKeysWithValues: (1...6).map { ($0, 1) }), "each trial ran exactly once")
    }
}
