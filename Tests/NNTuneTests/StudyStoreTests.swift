import Foundation
import XCTest
@testable import NNTune

final class StudyStoreTests: XCTestCase {
    func testEverythingWrittenReadsBackAfterReopening() throws {
        let dir = try makeTemporaryDirectory("store")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("study.sqlite").path
        let space = try SearchSpace(["lr": .logUniform(low: 1e-4, high: 1), "optimizer": .choice([.text("adam"), .text("sgd")])])
        let configuration = StudyConfiguration(space: space, sampler: .random, seed: 42, trialsPerRound: 3, rounds: 2,
                                               trainArguments: ["--data", "digits"])
        let assignments: [Assignment] = [["lr": .real(0.001), "optimizer": .text("adam")],
                                         ["lr": .real(0.3), "optimizer": .text("sgd")],
                                         ["lr": .real(1.5e-4), "optimizer": .text("adam")]]
        let started = Date(timeIntervalSince1970: 1_700_000_000)
        do {
            let store = try StudyStore(path: path)
            try store.saveConfiguration(configuration)
            let ids = try store.addRound(0, box: space.fullBox, assignments: assignments)
            XCTAssertEqual(ids.count, 3)
            try store.markRunning(ids[0], pid: 123, outputDirectory: "/tmp/a", at: started)
            try store.recordEpochs(ids[0], [EpochRecord(epoch: 1, devAccuracy: 0.5, json: #"{"epoch": 1}"#),
                                            EpochRecord(epoch: 2, devAccuracy: 0.75, json: #"{"epoch": 2}"#)])
            try store.finish(ids[0], status: .done, result: TrialResult(devAccuracy: 0.75, trainAccuracy: 0.8, testAccuracy: 0.7),
                             at: started.addingTimeInterval(12.5))
            try store.markRunning(ids[1], pid: 124, outputDirectory: "/tmp/b", at: started)
            try store.finish(ids[1], status: .failed, error: "worker exit status 3: diverged", at: started.addingTimeInterval(1))
        }
        let store = try StudyStore(path: path)
        XCTAssertEqual(try store.configuration(), configuration)
        XCTAssertEqual(try store.rounds().map(\.box), [space.fullBox])
        let trials = try store.trials()
        XCTAssertEqual(trials.map(\.assignment), assignments)
        XCTAssertEqual(trials.map(\.status), [.done, .failed, .pending])
        XCTAssertEqual(trials[0].result, TrialResult(devAccuracy: 0.75, trainAccuracy: 0.8, testAccuracy: 0.7))
        XCTAssertEqual(try XCTUnwrap(trials[0].wallSeconds), 12.5, accuracy: 1e-6, "stored as Unix seconds in a REAL column")
        XCTAssertEqual(trials[0].attempts, 1)
        XCTAssertEqual(trials[0].pid, 123)
        XCTAssertEqual(trials[1].error, "worker exit status 3: diverged")
        XCTAssertEqual(try store.epochs(of: trials[0].id).map(\.devAccuracy), [0.5, 0.75])
        XCTAssertEqual(try store.completedDevAccuracies(atEpoch: 2), [0.75])
        XCTAssertEqual(try store.completedGains(fromEpoch: 1), [0.25], "what the trial gained after epoch 1")
        XCTAssertEqual(MedianPruner.median([0.3, 0.1, 0.2]), 0.2)
        XCTAssertEqual(MedianPruner.median([0.4, 0.1, 0.2, 0.3]), 0.25)
        XCTAssertNil(MedianPruner.median([]))
        let mode = try SQLiteDatabase(path: path).query("PRAGMA journal_mode").first?.first?.string
        XCTAssertEqual(mode, "wal")
    }

    func testInterruptedTrialsGoBackToPendingWithoutTheirPartialEpochs() throws {
        let dir = try makeTemporaryDirectory("requeue")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try StudyStore(path: dir.appendingPathComponent("s.sqlite").path)
        let space = try learningRateSpace()
        let ids = try store.addRound(0, box: space.fullBox, assignments: [["lr": .real(0.1)], ["lr": .real(0.01)]])
        try store.markRunning(ids[0], pid: 999_999, outputDirectory: dir.path)
        try store.recordEpochs(ids[0], [EpochRecord(epoch: 1, devAccuracy: 0.4, json: "{}")])
        try store.markRunning(ids[1], pid: 999_998, outputDirectory: dir.path)
        try store.finish(ids[1], status: .done, result: TrialResult(devAccuracy: 0.9))
        let requeued = try store.requeueInterrupted()
        XCTAssertEqual(requeued.map(\.id), [ids[0]])
        XCTAssertEqual(try store.trial(id: ids[0])?.status, .pending)
        XCTAssertEqual(try store.epochs(of: ids[0]), [])
        XCTAssertEqual(try store.trial(id: ids[1])?.status, .done)
        XCTAssertThrowsError(try store.finish(ids[0], status: .running))
    }

    func testResumeRejectsConflictingSettingsButKeepsStoredOnes() throws {
        let stored = StudyConfiguration(space: try learningRateSpace(), seed: 5, trialsPerRound: 4)
        XCTAssertEqual(try StudyRequest().resolve(stored: stored, studyName: "s"), stored)
        XCTAssertEqual(try StudyRequest(seed: 5).resolve(stored: stored, studyName: "s"), stored)
        XCTAssertThrowsError(try StudyRequest(seed: 6).resolve(stored: stored, studyName: "s")) { error in
            XCTAssertTrue("\(error)".contains("--seed"), "\(error)")
        }
        XCTAssertThrowsError(try StudyRequest(trialsPerRound: 0).resolve(stored: nil, studyName: "s"))
        // More trials extend a random study; fewer would drop results, and a grid's size is its own.
        XCTAssertEqual(try StudyRequest(trialsPerRound: 6).resolve(stored: stored, studyName: "s").trialsPerRound, 6)
        XCTAssertThrowsError(try StudyRequest(trialsPerRound: 3).resolve(stored: stored, studyName: "s")) { error in
            XCTAssertTrue("\(error)".contains("--trials"), "\(error)")
        }
        var grid = stored
        grid.sampler = .grid
        XCTAssertThrowsError(try StudyRequest(trialsPerRound: 6).resolve(stored: grid, studyName: "s"))
        XCTAssertThrowsError(try StudyLocation(root: URL(fileURLWithPath: "/tmp"), name: "../escape"))
    }
}

final class StudyConfigurationTests: XCTestCase {
    func testTrainArgumentsMayNotFightTheTuner() throws {
        let space = try SearchSpace(["lr": .logUniform(low: 1e-4, high: 1), "hidden": .integer(low: 16, high: 64)])
        XCTAssertNoThrow(try StudyConfiguration(space: space, trainArguments: ["--data", "digits", "--epochs", "3"]).validate())
        for (args, culprit) in [(["--out", "x"], "--out"), (["--json"], "--json"), (["--lr", "0.1"], "--lr"), (["--layers", "8"], "--layers")] {
            XCTAssertThrowsError(try StudyConfiguration(space: space, trainArguments: args).validate()) { error in
                guard case let TuneError.invalidOption(name, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(name, culprit)
            }
        }
    }
}
