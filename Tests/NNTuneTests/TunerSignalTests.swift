import Foundation
import XCTest
@testable import NNTune
#if canImport(Glibc)
import Glibc
#endif

/// `nn tune run --parallel 2` stopped by SIGKILL or SIGTERM at random moments, then resumed: no
/// worker outlives its study, no finished trial runs again, no trial runs two attempts at once,
/// and the study ends with every trial done.
final class TunerSignalTests: XCTestCase {
    /// Enough work (about 0.7 s a trial, two at a time) that all ten stops land mid-study.
    static let trialCount = 40

    private struct Study {
        let root: URL
        let directory: URL
        let fake: FakeWorker
        let arguments: [String]

        init(_ label: String, trials: Int, epochSeconds: Double) throws {
            root = try makeTemporaryDirectory(label)
            directory = root.appendingPathComponent("studies/s")
            var fake = FakeWorker(directory: root.appendingPathComponent("fake"))
            fake.epochs = 3
            fake.epochSeconds = epochSeconds
            self.fake = fake
            let worker = try fake.install()
            let space = root.appendingPathComponent("space.json")
            try Data(#"{"lr": "logUniform(1e-4, 1)"}"#.utf8).write(to: space)
            arguments = ["tune", "run", "--study", "s", "--root", root.appendingPathComponent("studies").path, "--space", space.path,
                         "--trials", String(trials), "--parallel", "2", "--seed", "17", "--worker", worker.executable]
        }

        func trials() throws -> [TrialRecord] {
            try StudyStore(path: directory.appendingPathComponent("study.sqlite").path, readOnly: true).trials()
        }

        func attemptFolders(of id: Int) -> [String] {
            let folder = directory.appendingPathComponent(String(format: "trials/trial-%04d", id)).path
            return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix("attempt-") }.sorted()
        }
    }

    func testSignalledTunerResumesWithoutOrphansRepeatsOrOverlaps() throws {
        let study = try Study("signals", trials: Self.trialCount, epochSeconds: 0.2)
        defer { try? FileManager.default.removeItem(at: study.root) }
        var random = SplitMix64(seed: 2024)  // the kill moments, the same on every run
        var finishedBefore: [Int: TrialRecord] = [:]
        for round in 0..<10 {
            let signal = round % 2 == 0 ? SIGKILL : SIGTERM
            let delay = 0.3 + 1.2 * random.uniform()
            let tuner = try TuneCLI.start(study.arguments, in: study.root, label: "tuner-\(round)")
            let deadline = Date().addingTimeInterval(delay)
            while Date() < deadline, tuner.process.isRunning { Thread.sleep(forTimeInterval: 0.02) }
            guard tuner.process.isRunning else {
                tuner.wait()
                return XCTFail("run \(round) ended before its stop (status \(tuner.status)); the study needs more work: \(tuner.stderr)")
            }
            kill(tuner.pid, signal)
            tuner.wait(timeout: 30)
            if signal == SIGTERM {
                // It may have finished the study in the instant before the signal; otherwise it stops cleanly.
                if tuner.status != 0 {
                    XCTAssertEqual(tuner.status, 143, "SIGTERM exit status; stderr: \(tuner.stderr)")
                    XCTAssertTrue(tuner.stderr.contains("Resume it with: nn tune run --study s"), tuner.stderr)
                }
                XCTAssertEqual(processes(mentioning: study.directory), [], "a SIGTERMed tuner stops its workers before exiting")
                XCTAssertFalse(try study.trials().contains { $0.status == .running }, "stopped trials are recorded as pending")
            } else {
                XCTAssertEqual(tuner.process.terminationReason, .uncaughtSignal)
            }
            let snapshot = try study.trials()
            print("stop \(round + 1): \(signal == SIGKILL ? "SIGKILL" : "SIGTERM") after \(formatNumber(delay)) s; "
                  + "\(snapshot.filter { $0.status == .done }.count) done, \(snapshot.filter { $0.status == .running }.count) left running, "
                  + "\(processes(mentioning: study.directory).count) workers alive")
            // Every trial done so far must stay exactly as it is.
            for t in try study.trials() where t.status == .done {
                if let before = finishedBefore[t.id] {
                    XCTAssertEqual(t, before, "finished trial \(t.id) changed after run \(round)")
                } else {
                    finishedBefore[t.id] = t
                }
            }
        }
        let last = try TuneCLI.run(study.arguments, in: study.root, label: "tuner-final", timeout: 120)
        XCTAssertEqual(last.status, 0, last.stderr)

        XCTAssertEqual(processes(mentioning: study.directory), [], "no worker outlives the study")
        let trials = try study.trials()
        XCTAssertEqual(trials.map(\.id), Array(1...Self.trialCount))
        XCTAssertTrue(trials.allSatisfy { $0.status == .done }, "\(trials.map { "\($0.id): \($0.status)" })")
        for (id, before) in finishedBefore {
            XCTAssertEqual(trials.first { $0.id == id }, before, "finished trial \(id) changed on resume")
            XCTAssertEqual(study.attemptFolders(of: id).last, before.outputDirectory.map { URL(fileURLWithPath: $0).lastPathComponent },
                           "no attempt of finished trial \(id) started after the one that finished")
        }
        let lines = study.fake.logLines()
        XCTAssertEqual(lines.filter { $0.hasPrefix("overlap") }, [], "no trial ran two attempts at once")
        // A worker logs "finish" after printing its result: no trial may start again after that.
        var finished = Set<String>()
        for line in lines {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count >= 2 else { continue }
            if parts[0] == "finish" { finished.insert(parts[1]) }
            if parts[0] == "start" { XCTAssertFalse(finished.contains(parts[1]), "trial \(parts[1]) ran again after a worker finished it") }
        }
        for t in trials {
            // Attempts the tuner recorded; a folder more when a tuner died between starting a worker and recording it.
            XCTAssertTrue((1...max(1, study.attemptFolders(of: t.id).count)).contains(t.attempts),
                          "trial \(t.id): \(t.attempts) attempts, folders \(study.attemptFolders(of: t.id))")
        }
    }

    /// Real `nn train` workers (not the fake): SIGKILL the tuner and they are gone within moments,
    /// because each asked the kernel to kill it with its parent.
    func testTrainWorkersDieWithAKilledTuner() throws {
        let root = try makeTemporaryDirectory("pdeathsig")
        defer { try? FileManager.default.removeItem(at: root) }
        let studyDirectory = root.appendingPathComponent("studies/real")
        let space = root.appendingPathComponent("space.json")
        try Data(#"{"lr": "logUniform(1e-3, 1e-2)"}"#.utf8).write(to: space)
        let tuner = try TuneCLI.start(["tune", "run", "--study", "real", "--root", root.appendingPathComponent("studies").path,
                                        "--space", space.path, "--trials", "2", "--parallel", "2", "--",
                                        "--data", Self.digits, "--epochs", "200", "--layers", "32", "--no-progress"],
                                       in: root, label: "tuner")
        // Both workers past their start-up (a few epochs written), so they run `nn train` proper.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, tuner.process.isRunning {
            let metrics = (1...2).map { studyDirectory.appendingPathComponent(String(format: "trials/trial-%04d/attempt-1/out/metrics.jsonl", $0)) }
            if metrics.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(processes(mentioning: studyDirectory).count, 2, "two workers run; tuner log: \(tuner.stdout) \(tuner.stderr)")
        kill(tuner.pid, SIGKILL)
        tuner.wait()
        let gone = Date().addingTimeInterval(5)
        while Date() < gone, !processes(mentioning: studyDirectory).isEmpty { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertEqual(processes(mentioning: studyDirectory), [], "workers outlived their SIGKILLed tuner")
    }

    /// A trial whose tuner died before it asked to die with it exits at once instead of training unwatched.
    func testTrainExitsWhenItsTunerIsAlreadyGone() throws {
        let root = try makeTemporaryDirectory("orphan-start")
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("out")
        let started = Date()
        let train = try TuneCLI.run(["train", "--data", Self.digits, "--epochs", "50", "--out", out.path], in: root, label: "train",
                                    environment: [WorkerEnvironment.trial: "1", WorkerEnvironment.tunerPID: "1"])
        XCTAssertEqual(train.status, 1, train.stderr)
        XCTAssertTrue(train.stderr.contains("the tuner (pid 1) that started this trial has already exited"), train.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing trained or written")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    static var digits: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/digits.csv").path
    }
}
