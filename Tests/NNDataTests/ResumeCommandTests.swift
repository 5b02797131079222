import Foundation
import NNTrain
import XCTest

/// `nn train --resume`, `--from-epoch` and `--set`: a run stopped at any point (by --max-steps, by
/// its epoch count, or by SIGKILL) and resumed ends with exactly the weights, optimiser state and
/// metrics of a run that was never stopped; rollbacks archive what they supersede; bad requests are
/// usage errors that leave the run folder untouched.
///
/// Every run uses the native backend (set by ``NNProcess``) on 300 rows of the digits fixture with a
/// small network, batch norm, dropout and Adam, so all run state (moments, running statistics, shuffle
/// RNG, Philox offset) takes part; equality is exact because the same backend repeats the same
/// arithmetic.
final class ResumeCommandTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var data = ""

    /// 270 training samples at batch 32: 9 steps per epoch (8 full batches and one of 14).
    private var common: [String] { Fixture.smallRun(data: data) }

    override func setUpWithError() throws {
        scratch = try TemporaryDirectory()
        data = try Fixture.digitsPrefix(rows: 300, in: scratch)
    }

    override func tearDown() { scratch = nil }

    @discardableResult
    private func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> NNProcess.Result {
        try NNProcess.succeed(arguments, scratch: scratch, file: file, line: line)
    }

    private func folder(_ name: String) -> String { scratch.file(name) }

    private func tensors(_ run: String, _ checkpoint: String, _ fileName: String) throws -> [NamedTensor] {
        let path = ((folder(run) as NSString).appendingPathComponent(checkpoint) as NSString).appendingPathComponent(fileName)
        return try SafeTensors.read(path: path).tensors.sorted { $0.name < $1.name }
    }

    /// Weights, running statistics, optimiser moments and early-stopping snapshot, compared exactly
    /// (no tolerance: the same backend repeats the same arithmetic in the same order).
    private func assertSameState(_ a: String, _ b: String, checkpoint: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for fileName in [ModelCheckpoint.modelFileName, ModelCheckpoint.trainingStateFileName] {
            let left = try tensors(a, checkpoint, fileName), right = try tensors(b, checkpoint, fileName)
            XCTAssertFalse(left.isEmpty && fileName == ModelCheckpoint.modelFileName, file: file, line: line)
            XCTAssertEqual(left.map(\.name), right.map(\.name), "\(checkpoint)/\(fileName): tensor names", file: file, line: line)
            // Report the first differing element, not two whole tensors.
            for (x, y) in zip(left, right) where x != y {
                let floatIndex: Int? = x.values.indices.first { (i: Int) in i < y.values.count && x.values[i].bitPattern != y.values[i].bitPattern }
                let intIndex: Int? = x.integers.indices.first { (i: Int) in i < y.integers.count && x.integers[i] != y.integers[i] }
                let index: Int = floatIndex ?? intIndex ?? -1
                let detail: String
                if let i = floatIndex {
                    detail = "\(x.values[i]) vs \(y.values[i])"
                } else if let i = intIndex {
                    detail = "\(x.integers[i]) vs \(y.integers[i])"
                } else {
                    detail = "shape \(x.shape) vs \(y.shape)"
                }
                XCTFail("\(checkpoint)/\(fileName): '\(x.name)' differs at element \(index): \(detail) (\(devices(a, b)))", file: file, line: line)
                break
            }
        }
    }

    /// The native backend's device descriptions, which name its process-wide GEMM arithmetic.
    private func devices(_ runs: String...) -> String {
        runs.map { run in
            let summary = (try? String(contentsOfFile: (folder(run) as NSString).appendingPathComponent("summary.json"), encoding: .utf8)) ?? "{}"
            let object = (try? JSONSerialization.jsonObject(with: Data(summary.utf8))) as? [String: Any]
            return "\(run): \(object?["device"] as? String ?? "?")"
        }.joined(separator: "; ")
    }

    private func jsonLines(_ run: String, _ name: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: (folder(run) as NSString).appendingPathComponent(name), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    /// metrics.jsonl without the timing fields, as text for exact comparison.
    /// The rows without timings, and without "epochs", the plan in force when the row was written
    /// (a run extended with --set epochs=4 planned 2 in its first epochs: history, not a difference).
    private func metrics(_ run: String) throws -> [String] {
        try jsonLines(run, "metrics.jsonl").map { row in
            row.filter { !["seconds", "samples_per_second", "epochs"].contains($0.key) }
                .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }

    private func exists(_ run: String, _ name: String) -> Bool {
        FileManager.default.fileExists(atPath: (folder(run) as NSString).appendingPathComponent(name))
    }

    // MARK: Tests

    func testResumedRunsEqualAnUninterruptedRunBitForBit() throws {
        try run(["train"] + common + ["--epochs", "4", "--out", folder("straight")])

        // Paused mid-epoch 2 by --max-steps (step 13 = 9 + 4), then resumed to the end.
        try run(["train"] + common + ["--epochs", "4", "--max-steps", "13", "--out", folder("paused")])
        XCTAssertTrue(exists("paused", "partial/training-state.safetensors"), "a mid-epoch stop leaves partial/")
        XCTAssertFalse(exists("paused", "epoch-002"))
        let refused = try NNProcess.run(["train", "--resume", folder("paused"), "--set", "batch=64"], scratch: scratch)
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("epoch boundary"), refused.stderr)
        try run(["train", "--resume", folder("paused")])
        XCTAssertFalse(exists("paused", "partial"), "partial/ is removed once its epoch completes")

        // Stopped after 2 of 2 epochs, then extended to 4. Only a schedule that ignores the run's
        // length can equal a straight 4-epoch run this way, so this pair trains at a constant rate.
        let constant = ["--schedule", "constant"]
        try run(["train"] + common + constant + ["--epochs", "4", "--out", folder("straight-constant")])
        try run(["train"] + common + constant + ["--epochs", "2", "--out", folder("extended")])
        try run(["train", "--resume", folder("extended"), "--set", "epochs=4"])

        for (straight, resumed) in [("straight", "paused"), ("straight-constant", "extended")] {
            for checkpoint in ["epoch-002", "epoch-004", "best"] {
                try assertSameState(straight, resumed, checkpoint: checkpoint)
            }
            XCTAssertEqual(try metrics(resumed), try metrics(straight), "\(resumed): metrics rows differ: \(devices(straight, resumed))")
        }
        // The default cosine schedule stretches over the new length from the resume on: epochs 3 and
        // 4 of 4 train at α₀·½(1 + cos(π·e/4)) for e = 2, 3.
        try run(["train"] + common + ["--epochs", "2", "--out", folder("extended-cosine")])
        try run(["train", "--resume", folder("extended-cosine"), "--set", "epochs=4"])
        let rates = try jsonLines("extended-cosine", "metrics.jsonl").compactMap { $0["learning_rate"] as? Double }
        let expected = [0.001, 0.0005, 0.0005, 0.001 * 0.5 * (1 + cos(3 * Double.pi / 4))]
        XCTAssertEqual(rates.count, 4)
        for (rate, want) in zip(rates, expected) { XCTAssertEqual(rate, want, accuracy: 1e-9, "\(rates)") }
        let events = try jsonLines("extended", "history.jsonl")
        XCTAssertEqual(events.map { $0["event"] as? String }, ["start", "resume"])
        XCTAssertEqual(events.last?["takes_effect_in_epoch"] as? Int, 3)
        XCTAssertEqual((events.last?["changes"] as? [String: [String]])?["epochs"], ["2", "4"])
        let pausedEvents = try jsonLines("paused", "history.jsonl")
        XCTAssertEqual(pausedEvents.last?["checkpoint"] as? String, "partial")
        XCTAssertEqual(pausedEvents.last?["step_in_epoch"] as? Int, 4)
    }

    func testARunKilledMidRunResumesFromItsLastCheckpoint() throws {
        let epochs = 8
        let arguments = ["train"] + common + ["--epochs", String(epochs)]
        let victim = try NNProcess.start(arguments + ["--out", folder("killed")], scratch: scratch)
        // Kill as soon as the first epoch's checkpoint is complete, with most of the run still to go.
        let deadline = Date().addingTimeInterval(120)
        while !exists("killed", "epoch-001/training-state.safetensors"), victim.process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTAssertTrue(victim.process.isRunning, "the run ended before it could be killed; give it more epochs")
        kill(victim.process.processIdentifier, SIGKILL)
        let killed = try victim.wait()
        XCTAssertEqual(victim.process.terminationReason, .uncaughtSignal, "killed by SIGKILL, not finished: \(killed.stderr)")
        XCTAssertFalse(exists("killed", "summary.json"), "a killed run never wrote its summary")
        XCTAssertFalse(exists("killed", String(format: "epoch-%03d", epochs)))

        let resumed = try run(["train", "--resume", folder("killed"), "--json"])
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["epochs"] as? Int, epochs)
        XCTAssertNotNil(summary["resumed_from"] as? String)

        try run(arguments + ["--out", folder("reference")])
        try assertSameState("reference", "killed", checkpoint: String(format: "epoch-%03d", epochs))
        try assertSameState("reference", "killed", checkpoint: "best")
        XCTAssertEqual(try metrics("killed"), try metrics("reference"), devices("reference", "killed"))
        XCTAssertEqual(try jsonLines("killed", "history.jsonl").map { $0["event"] as? String }, ["start", "resume"])
    }

    func testRollbackArchivesLaterEpochsAndChangesHyperparameters() throws {
        // A constant rate, so the learning rates below are the --set values themselves.
        try run(["train"] + common + ["--schedule", "constant", "--epochs", "4", "--out", folder("run")])
        let epoch2 = try tensors("run", "epoch-002", ModelCheckpoint.modelFileName)
        let old3 = try tensors("run", "epoch-003", ModelCheckpoint.modelFileName)

        try run(["train", "--resume", folder("run"), "--from-epoch", "2", "--set", "lr=3e-4", "--set", "batch=64", "--set", "keep=0.8"])

        let archive = "superseded/rollback-1-to-epoch-2"
        XCTAssertEqual(try tensors("run", "\(archive)/epoch-003", ModelCheckpoint.modelFileName), old3, "superseded checkpoints are kept")
        XCTAssertTrue(exists("run", "\(archive)/epoch-004/training-state.safetensors"))
        XCTAssertTrue(exists("run", "\(archive)/best/model.safetensors"))
        XCTAssertEqual(try jsonLines("run", "\(archive)/metrics.jsonl").map { $0["epoch"] as? Int }, [3, 4])
        XCTAssertEqual(try tensors("run", "epoch-002", ModelCheckpoint.modelFileName), epoch2, "the rollback point is untouched")
        XCTAssertNotEqual(try tensors("run", "epoch-003", ModelCheckpoint.modelFileName), old3, "epoch 3 was trained again")

        let rows = try jsonLines("run", "metrics.jsonl")
        XCTAssertEqual(rows.map { $0["epoch"] as? Int }, [1, 2, 3, 4])
        XCTAssertEqual(rows.map { $0["learning_rate"] as? Double }, [0.001, 0.001, 0.0003, 0.0003])
        // 270 samples at batch 32 take 9 steps an epoch; at batch 64, 5.
        XCTAssertEqual(rows.map { $0["step"] as? Int }, [9, 18, 23, 28])

        let event = try XCTUnwrap(try jsonLines("run", "history.jsonl").last)
        XCTAssertEqual(event["event"] as? String, "rollback")
        XCTAssertEqual(event["epoch"] as? Int, 2)
        XCTAssertEqual(event["takes_effect_in_epoch"] as? Int, 3)
        XCTAssertEqual(event["archived"] as? String, archive)
        XCTAssertEqual(event["changes"] as? [String: [String]],
                       ["lr": ["0.001", "0.0003"], "batch": ["32", "64"], "dropout": ["0.9", "0.8"]])

        let svg = try String(contentsOfFile: (folder("run") as NSString).appendingPathComponent("learning-curve.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains("stroke-dasharray"), "the rollback is marked by a dashed line")
        XCTAssertTrue(svg.contains("rollback to 2: batch 32→64, keep 0.9→0.8, lr 0.001→0.0003"), svg)

        // The continued run records its new settings, so resuming it again keeps them.
        let settings = try SafeTensors.read(path: (folder("run") as NSString).appendingPathComponent("epoch-004/model.safetensors"))
            .metadata["nn_train_settings"] ?? ""
        XCTAssertTrue(settings.contains("\"lr\":\"0.0003\"") && settings.contains("\"batch\":\"64\""), settings)
        let plain = try run(["train", "--resume", folder("run"), "--set", "epochs=5"])
        XCTAssertFalse((plain.stdout + plain.stderr).contains("warning: --"), plain.stdout)
        let extended = try jsonLines("run", "metrics.jsonl")
        XCTAssertEqual(extended.last?["learning_rate"] as? Double, 0.0003, "a later plain resume keeps the rollback's --set")
        XCTAssertEqual(extended.last?["step"] as? Int, 33, "and its batch of 64")
        // A --set the run's optimiser never reads is applied, and said to have no effect.
        let unread = try run(["train", "--resume", folder("run"), "--set", "epochs=6", "--set", "momentum=0.5"])
        XCTAssertTrue(unread.stdout.contains("warning: --momentum has no effect without --optimizer momentum"), unread.stdout)
    }

    /// A hyperparameter flag on a resumed run is applied like --set, also when it equals the flag's
    /// default (it used to be dropped silently, since it looked like no flag at all).
    func testHyperparameterFlagsOnResumeAreAppliedEvenAtTheirDefault() throws {
        try run(["train"] + common + ["--schedule", "constant", "--lr", "0.005", "--epochs", "1", "--out", folder("run")])
        let resumed = try run(["train", "--resume", folder("run"), "--lr", "0.001", "--epochs", "2"])
        XCTAssertTrue(resumed.stdout.contains("changed lr 0.005→0.001, epochs 1→2"), resumed.stdout)
        XCTAssertEqual(try jsonLines("run", "metrics.jsonl").map { $0["learning_rate"] as? Double }, [0.005, 0.001])
        let event = try XCTUnwrap(try jsonLines("run", "history.jsonl").last)
        XCTAssertEqual(event["changes"] as? [String: [String]], ["lr": ["0.005", "0.001"], "epochs": ["1", "2"]])

        // Under a schedule, lr is its α₀: the line that reports the change says what the next epoch runs at.
        try run(["train"] + common + ["--epochs", "2", "--out", folder("cosine")])
        let cosine = try run(["train", "--resume", folder("cosine"), "--set", "lr=0.002", "--set", "epochs=4"])
        // Epoch 3 of 4 under cosine: 0.002 · ½(1 + cos(π·2/4)) = 0.001.
        XCTAssertTrue(cosine.stdout.contains("(lr is the cosine schedule's α₀: epoch 3 runs at 0.001)"), cosine.stdout)
        XCTAssertTrue(cosine.stdout.contains("2 epochs done"), cosine.stdout)
    }

    func testBadResumeRequestsAreUsageErrorsThatLeaveTheRunAlone() throws {
        try run(["train"] + common + ["--epochs", "1", "--out", folder("run")])
        let before = try FileManager.default.contentsOfDirectory(atPath: folder("run")).sorted()
        let history = try String(contentsOfFile: (folder("run") as NSString).appendingPathComponent("history.jsonl"), encoding: .utf8)
        let cases: [(arguments: [String], status: Int32, fragment: String)] = [
            (["--set", "epochs=3", "--set", "speed=2"], 2, "unknown hyperparameter 'speed'"),
            (["--set", "lr=fast", "--set", "epochs=3"], 2, "fast"),
            (["--set", "lr=-1", "--set", "epochs=3"], 2, "--lr"),
            (["--set", "lr"], 2, "KEY=VALUE"),
            (["--set", "layers=32"], 2, "architecture"),
            (["--set", "keep=1", "--set", "epochs=3"], 2, "architecture"),
            (["--set", "optimizer=sgd"], 2, "defines the run"),
            (["--set", "normalize=global"], 2, "defines the run"),
            (["--data", "digits", "--set", "epochs=3"], 2, "--data cannot be given"),
            (["--seed", "1", "--set", "epochs=3"], 2, "--seed cannot be given"),
            (["--no-batchnorm", "--set", "epochs=3"], 2, "--no-batchnorm cannot be given"),
            (["--lr", "0.1"], 2, "--set epochs=N"),
            (["--from-epoch", "5"], 2, "completed 1 epoch;"),
            ([], 2, "--set epochs=N"),
        ]
        for c in cases {
            let r = try NNProcess.run(["train", "--resume", folder("run")] + c.arguments, scratch: scratch)
            XCTAssertEqual(r.status, c.status, "\(c.arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(c.fragment), "\(c.arguments): stderr \"\(r.stderr)\" does not mention \"\(c.fragment)\"")
            XCTAssertFalse(r.stderr.contains("Fatal error"), "must never trap")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder("run")).sorted(), before)
        XCTAssertEqual(try String(contentsOfFile: (folder("run") as NSString).appendingPathComponent("history.jsonl"), encoding: .utf8), history)

        let noResume = try NNProcess.run(["train"] + common + ["--set", "lr=0.1"], scratch: scratch)
        XCTAssertEqual(noResume.status, 2, noResume.stderr)
        XCTAssertTrue(noResume.stderr.contains("--resume"), noResume.stderr)
        let missing = try NNProcess.run(["train", "--resume", folder("nowhere")], scratch: scratch)
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no such folder"), missing.stderr)
    }
}
