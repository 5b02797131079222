import Foundation
import XCTest
@testable import NNTune
#if canImport(Glibc)
import Glibc
#endif

final class StudyRunnerTests: XCTestCase {
    private func runner(_ store: StudyStore, _ configuration: StudyConfiguration, _ dir: URL, _ worker: WorkerCommand,
                        parallel: Int = 2, pruner: MedianPruner? = nil, pollInterval: TimeInterval = 0.02) -> StudyRunner {
        StudyRunner(store: store, configuration: configuration, directory: dir, worker: worker,
                    options: ExecutionOptions(parallel: parallel, pruner: pruner.map(PrunerSetting.median), pollInterval: pollInterval),
                    log: { _ in })
    }

    func testResumeRunsOnlyUnfinishedTrials() throws {
        let dir = try makeTemporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fake = FakeWorker(directory: dir.appendingPathComponent("fake"))
        let worker = try fake.install()
        let space = try learningRateSpace()
        let configuration = StudyConfiguration(space: space, trialsPerRound: 5)
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        try store.saveConfiguration(configuration)
        // A study as a killed tuner leaves it: done, failed, running (its tuner died), pending.
        let ids = try store.addRound(0, box: space.fullBox, assignments: [0.01, 0.001, 0.1, 0.02, 0.005].map { ["lr": .real($0)] })
        try store.markRunning(ids[0], pid: 0, outputDirectory: "/nonexistent")
        try store.finish(ids[0], status: .done, result: TrialResult(devAccuracy: 0.123))
        try store.markRunning(ids[1], pid: 0, outputDirectory: "/nonexistent")
        try store.finish(ids[1], status: .failed, error: "earlier crash")
        try store.markRunning(ids[2], pid: 0, outputDirectory: "/nonexistent")
        let before = try store.trials()

        try runner(store, configuration, dir, worker).run()

        let (starts, finishes) = fake.events()
        XCTAssertEqual(starts, [ids[2]: 1, ids[3]: 1, ids[4]: 1], "only the running and pending trials run")
        XCTAssertEqual(finishes, starts)
        let after = try store.trials()
        XCTAssertEqual(after[0], before[0], "a done trial is untouched")
        XCTAssertEqual(after[1], before[1], "a failed trial is not retried")
        XCTAssertEqual(after.map(\.status), [.done, .failed, .done, .done, .done])
        XCTAssertEqual(after[2].attempts, 2, "the interrupted trial ran a second time")
        XCTAssertEqual(try XCTUnwrap(after[3].result?.devAccuracy), 0.9 - 0.2 * abs(log10(0.02) + 2), accuracy: 1e-6,
                       "the fake prints 6 decimals")
        XCTAssertEqual(try store.epochs(of: ids[3]).map(\.epoch), [1, 2, 3])
        // Running it again finds nothing to do.
        try runner(store, configuration, dir, worker).run()
        XCTAssertEqual(fake.events().starts, starts)
    }

    /// A tuner that died after a worker finished but before recording it, or between starting a worker
    /// and recording it, or with a worker still running: the resume records the finished attempts'
    /// results instead of re-running them, and kills the orphan before its trial runs again.
    func testResumeRecordsFinishedAttemptsAndStopsOrphansFirst() throws {
        let dir = try makeTemporaryDirectory("recover")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fake = FakeWorker(directory: dir.appendingPathComponent("fake"))
        let worker = try fake.install()
        let space = try learningRateSpace()
        let configuration = StudyConfiguration(space: space, trialsPerRound: 3)
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        try store.saveConfiguration(configuration)
        let ids = try store.addRound(0, box: space.fullBox, assignments: [0.01, 0.001, 0.1].map { ["lr": .real($0)] })
        func attempt(_ id: Int, _ n: Int) throws -> URL {
            let url = dir.appendingPathComponent(String(format: "trials/trial-%04d/attempt-\(n)", id))
            try FileManager.default.createDirectory(at: url.appendingPathComponent("out"), withIntermediateDirectories: true)
            return url
        }
        // Trial 1: recorded running; its worker printed its result, then the tuner died.
        let first = try attempt(ids[0], 1)
        try store.markRunning(ids[0], pid: 999_999, outputDirectory: first.path)
        try Data(#"{"epoch": 1, "dev_accuracy": 0.5}\#n{"epoch": 2, "dev_accuracy": 0.77}\#n"#.utf8)
            .write(to: first.appendingPathComponent("out/metrics.jsonl"))
        try Data("epoch lines\n{\"dev_accuracy\": 0.77, \"wall_seconds\": 4}\n".utf8).write(to: first.appendingPathComponent("stdout.log"))
        // Trial 2: never recorded as started, but its (unrecorded) worker finished: only summary.json remains.
        let second = try attempt(ids[1], 1)
        try Data("{\n  \"dev_accuracy\": 0.61\n}\n".utf8).write(to: second.appendingPathComponent("out/summary.json"))
        // Trial 3: recorded running, its orphaned worker still writing into attempt 1.
        let third = try attempt(ids[2], 1)
        let orphan = Process()
        // Any long-running command whose arguments name the attempt's folder, as a worker's --out does.
        let written = third.appendingPathComponent("out/metrics.jsonl")
        _ = FileManager.default.createFile(atPath: written.path, contents: nil)
        orphan.executableURL = URL(fileURLWithPath: "/usr/bin/tail")
        orphan.arguments = ["-f", written.path]
        try orphan.run()
        try store.markRunning(ids[2], pid: Int(orphan.processIdentifier), outputDirectory: third.path)

        try runner(store, configuration, dir, worker).run()

        // It is this test's child, so Foundation reaps it a moment after the kill.
        let reaped = Date().addingTimeInterval(5)
        while orphan.isRunning, Date() < reaped { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(orphan.isRunning ? nil : orphan.terminationReason, .uncaughtSignal, "the orphan was killed")
        XCTAssertEqual(fake.events().starts, [ids[2]: 1], "only the trial without a result ran again")
        let trials = try store.trials()
        XCTAssertEqual(trials.map(\.status), [.done, .done, .done])
        XCTAssertEqual(trials[0].result?.devAccuracy, 0.77)
        XCTAssertEqual(trials[0].attempts, 1)
        XCTAssertEqual(try store.epochs(of: ids[0]).map(\.epoch), [1, 2], "its learning curve is kept")
        XCTAssertEqual(trials[1].result?.devAccuracy, 0.61)
        XCTAssertEqual(trials[1].attempts, 1, "the unrecorded attempt counts")
        XCTAssertEqual(trials[1].outputDirectory, second.path, "the report finds that attempt's checkpoint")
        XCTAssertEqual(trials[2].attempts, 2)
        XCTAssertTrue(trials[2].outputDirectory?.hasSuffix("attempt-2") ?? false, "\(trials[2].outputDirectory ?? "")")
    }

    /// A stop request (SIGINT/SIGTERM in `nn tune`) stops the running workers, starts nothing new,
    /// puts their trials back to pending, and the next run finishes the study.
    func testStopRequestRequeuesRunningTrials() throws {
        let dir = try makeTemporaryDirectory("stop")
        defer { try? FileManager.default.removeItem(at: dir) }
        var fake = FakeWorker(directory: dir.appendingPathComponent("fake"))
        fake.epochSeconds = 0.3
        let worker = try fake.install()
        let configuration = StudyConfiguration(space: try learningRateSpace(), trialsPerRound: 4)
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        let stop = StopRequest()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.4) { stop.request(signal: SIGTERM) }
        let options = ExecutionOptions(parallel: 2, pollInterval: 0.02, stopRequest: stop)
        XCTAssertThrowsError(try StudyRunner(store: store, configuration: configuration, directory: dir, worker: worker,
                                             options: options, log: { _ in }).run()) { error in
            XCTAssertEqual(error as? TuneError, .interrupted(signal: SIGTERM))
        }
        let stopped = try store.trials()
        XCTAssertEqual(stopped.map(\.status), [.pending, .pending, .pending, .pending])
        XCTAssertEqual(stopped.map(\.attempts), [1, 1, 0, 0], "no trial started after the stop")
        XCTAssertTrue(stopped[0].error?.contains("interrupted by SIGTERM") ?? false, stopped[0].error ?? "")
        XCTAssertEqual(fake.events().finishes, [:])

        try runner(store, configuration, dir, worker).run()
        XCTAssertEqual(try store.trials().map(\.status), [.done, .done, .done, .done])
    }

    /// Raising --trials on a finished study runs only the new trials, and they are the draws a study
    /// started with the larger count would have made (the sampler draws by trial index).
    func testRaisingTrialsExtendsAStudyWithTheSameDraws() throws {
        let dir = try makeTemporaryDirectory("extend")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fake = FakeWorker(directory: dir.appendingPathComponent("fake"))
        let worker = try fake.install()
        let space = try learningRateSpace()
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        let small = StudyConfiguration(space: space, seed: 3, trialsPerRound: 3)
        try store.saveConfiguration(small)
        try runner(store, small, dir, worker).run()
        let first = try store.trials()
        XCTAssertEqual(first.count, 3)

        let larger = try StudyRequest(trialsPerRound: 5).resolve(stored: small, studyName: "extend")
        try store.saveConfiguration(larger)
        try runner(store, larger, dir, worker).run()
        let all = try store.trials()
        XCTAssertEqual(all.count, 5)
        XCTAssertEqual(Array(all.prefix(3)), first, "finished trials are kept as they were")
        XCTAssertEqual(fake.events().starts.count, 5, "each trial ran once: 3, then the 2 new ones")
        XCTAssertTrue(all.allSatisfy { $0.status == .done })
        let fresh = RandomSampler(seed: 3).assignments(round: 0, count: 5, box: space.fullBox, space: space)
        XCTAssertEqual(all.map(\.assignment), fresh, "the extended study is the one started with 5 trials")
    }

    /// `hidden` and `depth` are no `nn train` flags: the report spells out the `--layers` they make
    /// and names the best trial's checkpoint folder.
    func testReportSpellsOutDerivedSettingsAndTheCheckpoint() throws {
        let dir = try makeTemporaryDirectory("derived")
        defer { try? FileManager.default.removeItem(at: dir) }
        let space = try SearchSpace(["lr": .logUniform(low: 1e-4, high: 1e-2), "hidden": .integer(low: 32, high: 512),
                                     "depth": .integer(low: 1, high: 3)])
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        try store.saveConfiguration(StudyConfiguration(space: space, trainArguments: ["--data", "my data.csv", "--epochs", "3"]))
        let ids = try store.addRound(0, box: space.fullBox, assignments: [["lr": .real(0.002), "hidden": .integer(436), "depth": .integer(2)]])
        let attempt = dir.appendingPathComponent("trials/trial-0001/attempt-1")
        try FileManager.default.createDirectory(at: attempt.appendingPathComponent("out/best"), withIntermediateDirectories: true)
        try store.markRunning(ids[0], pid: 0, outputDirectory: attempt.path)
        try store.finish(ids[0], status: .done, result: TrialResult(devAccuracy: 0.8842))

        let table = try StudyReport(name: "derived", store: store).table(top: 3)
        XCTAssertTrue(table.contains("best: trial 1, dev accuracy 88.42 %; its checkpoint: \(attempt.path)/out/best"), table)
        XCTAssertTrue(table.contains("nn train --data 'my data.csv' --epochs 3 --lr 0.002 --layers 436,436 --out runs/derived-trial-1"), table)
        XCTAssertTrue(table.contains("hidden 436 and depth 2 make --layers 436,436"), table)
    }

    func testCrashedWorkerFailsItsTrialNotTheStudy() throws {
        let dir = try makeTemporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(at: dir) }
        var fake = FakeWorker(directory: dir.appendingPathComponent("fake"))
        fake.crashAboveLearningRate = 0.05
        let worker = try fake.install()
        let configuration = StudyConfiguration(space: try learningRateSpace(), seed: 3, trialsPerRound: 12)
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        try runner(store, configuration, dir, worker, parallel: 3).run()
        let trials = try store.trials()
        let crashing = trials.filter { ($0.assignment["lr"]?.numericValue ?? 0) > 0.05 }
        XCTAssertFalse(crashing.isEmpty, "seed 3 should draw some lr above 0.05 out of 12 (each has a 32 % chance)")
        XCTAssertEqual(trials.count, 12)
        for t in trials {
            if crashing.contains(where: { $0.id == t.id }) {
                XCTAssertEqual(t.status, .failed)
                XCTAssertTrue(t.error?.contains("exit status 3") ?? false, t.error ?? "no error")
                XCTAssertTrue(t.error?.contains("diverged") ?? false, "the error carries the worker's stderr: \(t.error ?? "")")
            } else {
                XCTAssertEqual(t.status, .done)
            }
        }
    }

    /// A trial's seconds are its worker's lifetime, as Optuna's side of the search benchmark measures
    /// them, not that plus the wait for the tuner's next look: with a poll every second, workers
    /// that live about 0.1 s must record well under a second each.
    func testTrialSecondsEndWhenTheWorkerEndsNotAtTheNextPoll() throws {
        let dir = try makeTemporaryDirectory("trial-seconds")
        defer { try? FileManager.default.removeItem(at: dir) }
        var fake = FakeWorker(directory: dir.appendingPathComponent("fake"))
        fake.epochs = 1
        fake.epochSeconds = 0.05
        let worker = try fake.install()
        let configuration = StudyConfiguration(space: try learningRateSpace(), seed: 3, trialsPerRound: 3)
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        try runner(store, configuration, dir, worker, parallel: 1, pollInterval: 1).run()
        let seconds = try store.trials().map(\.wallSeconds)
        XCTAssertEqual(seconds.count, 3)
        for s in seconds {
            // Each poll is 1 s apart, so a finish stamped at a poll would record at least that; the
            // worker (a shell script with one 0.05 s epoch) ends far sooner even on a loaded machine.
            XCTAssertLessThan(try XCTUnwrap(s), 0.7, "\(seconds)")
            XCTAssertGreaterThan(try XCTUnwrap(s), 0.04, "\(seconds)")
        }
    }

    /// A study whose one round holds a trial per learning rate, in that order, each run by a fake
    /// worker of four epochs of `epochSeconds`.
    private func fourEpochStudy(in dir: URL, epochSeconds: Double, learningRates: [Double]) throws
        -> (fake: FakeWorker, worker: WorkerCommand, store: StudyStore, configuration: StudyConfiguration, ids: [Int]) {
        var fake = FakeWorker(directory: dir.appendingPathComponent("fake"))
        fake.epochs = 4
        fake.epochSeconds = epochSeconds
        let worker = try fake.install()
        let space = try learningRateSpace()
        let configuration = StudyConfiguration(space: space, trialsPerRound: learningRates.count)
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        try store.saveConfiguration(configuration)
        let ids = try store.addRound(0, box: space.fullBox, assignments: learningRates.map { ["lr": .real($0)] })
        return (fake, worker, store, configuration, ids)
    }

    func testMedianRulePrunesTrialsBelowCompletedOnes() throws {
        let dir = try makeTemporaryDirectory("prune")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Three good trials complete first (one at a time), then two far-off ones must be pruned.
        let (fake, worker, store, configuration, ids) = try fourEpochStudy(in: dir, epochSeconds: 0.15,
                                                                          learningRates: [0.01, 0.008, 0.012, 1e-4, 0.9])
        try runner(store, configuration, dir, worker, parallel: 1, pruner: MedianPruner(minimumCompleted: 3, warmupEpochs: 1)).run()
        let trials = try store.trials()
        XCTAssertEqual(trials.map(\.status), [.done, .done, .done, .pruned, .pruned])
        for t in trials.suffix(2) {
            XCTAssertTrue(t.error?.contains("below the median") ?? false, t.error ?? "")
            XCTAssertLessThan(try store.epochs(of: t.id).count, 4, "trial \(t.id) was stopped before its last epoch")
        }
        XCTAssertEqual(fake.events().finishes[ids[3]], nil, "a pruned worker never reaches its end")
    }

    /// A trial that its epoch's figures prune is stopped as soon as it writes them, not at the tuner's
    /// next look: with a look every 2 s, a far-off trial of four 0.2 s epochs would end whole before
    /// any look came; woken by the write, the tuner stops it after the first epoch it may prune.
    func testAPrunedTrialStopsWhenItWritesItsEpochNotAtTheNextPoll() throws {
        let dir = try makeTemporaryDirectory("prune-wake")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (fake, worker, store, configuration, ids) = try fourEpochStudy(in: dir, epochSeconds: 0.2, learningRates: [0.01, 1e-4])
        try runner(store, configuration, dir, worker, parallel: 1, pruner: MedianPruner(minimumCompleted: 1, warmupEpochs: 1),
                   pollInterval: 2).run()
        let trials = try store.trials()
        XCTAssertEqual(trials.map(\.status), [.done, .pruned], "the far-off trial must be pruned before it ends")
        XCTAssertLessThan(try store.epochs(of: ids[1]).count, 4, "stopped before its last epoch")
        XCTAssertEqual(fake.events().finishes[ids[1]], nil, "the pruned worker never reached its end")
    }

    func testCoarseToFineRoundsAndReport() throws {
        let dir = try makeTemporaryDirectory("rounds")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fake = FakeWorker(directory: dir.appendingPathComponent("fake"))
        let worker = try fake.install()
        let space = try SearchSpace(["lr": .logUniform(low: 1e-5, high: 1), "batch": .choice([.integer(32), .integer(64)])])
        let configuration = StudyConfiguration(space: space, seed: 8, trialsPerRound: 8, rounds: 3)
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        try store.saveConfiguration(configuration)
        try runner(store, configuration, dir, worker, parallel: 3).run()

        let rounds = try store.rounds()
        XCTAssertEqual(rounds.count, 3)
        let widths = rounds.map { r -> Double in
            guard case let .interval(lo, hi) = r.box.bounds(of: "lr") else { return .nan }
            return hi - lo
        }
        XCTAssertLessThan(widths[2], widths[1])
        XCTAssertLessThan(widths[1], widths[0])
        let trials = try store.trials()
        XCTAssertEqual(trials.count, 24)
        XCTAssertTrue(trials.allSatisfy { $0.status == .done })
        for (round, box) in rounds {
            for t in trials where t.round == round { XCTAssertTrue(box.contains(t.assignment, in: space)) }
        }
        let best = try XCTUnwrap(trials.max { ($0.result?.devAccuracy ?? 0) < ($1.result?.devAccuracy ?? 0) })
        XCTAssertTrue(rounds[2].box.contains(best.assignment, in: space) || best.round == 2)

        let report = try StudyReport(name: "rounds", store: store)
        XCTAssertEqual(report.ranked.first?.id, best.id)
        let table = report.table(top: 5)
        XCTAssertTrue(table.contains("round 3 box:"), table)
        XCTAssertTrue(table.contains("lr ∈ ["), table)
        let json = try JSONSerialization.jsonObject(with: Data(try report.json(top: 5).utf8)) as? [String: Any]
        XCTAssertEqual((json?["top"] as? [Any])?.count, 5)
        XCTAssertEqual((json?["best"] as? [String: Any])?["trial"] as? Int, best.id)
        XCTAssertEqual((json?["rounds"] as? [Any])?.count, 3)
        // The report says how to run the best trial again, with the study's train arguments.
        let command = try XCTUnwrap((json?["best"] as? [String: Any])?["command"] as? String)
        XCTAssertTrue(command.hasPrefix("nn train "), command)
        XCTAssertTrue(command.contains("--lr \(best.assignment["lr"]?.argument ?? "?")"), command)
        XCTAssertTrue(table.contains("reproduce it with:\n  nn train "), table)
        var filtered = report
        filtered.unreadArgumentsRemover = { _ in ["--data", "kept"] }
        XCTAssertEqual(filtered.reproductionCommand(for: best), "nn train --data kept --out runs/rounds-trial-\(best.id)",
                       "the tool's remover sees the train arguments, not the output folder")
        let plots = try report.writePlots(to: dir.appendingPathComponent("report"), top: 3)
        XCTAssertEqual(Set(plots.map(\.lastPathComponent)), ["dev-accuracy-vs-lr.svg", "dev-accuracy-vs-batch.svg", "learning-curves.svg",
                                                              "best-so-far.svg", "best-so-far-by-time.svg"])
        let lrPlot = try String(contentsOf: dir.appendingPathComponent("report/dev-accuracy-vs-lr.svg"), encoding: .utf8)
        XCTAssertEqual(lrPlot.components(separatedBy: "<circle").count - 1, 24, "one dot per completed trial")
        XCTAssertTrue(lrPlot.contains("1e-3"), "log axis labels decades")
        let curves = try String(contentsOf: dir.appendingPathComponent("report/learning-curves.svg"), encoding: .utf8)
        XCTAssertEqual(curves.components(separatedBy: "<polyline").count - 1, 3)
    }
}
