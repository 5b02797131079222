import Foundation
import NNTrain
import XCTest

/// What `nn train` says and leaves behind: the final lines tell the truth about `best/`, a folder
/// that holds another run is refused (or replaced on request), a run without `--out` is still saved,
/// and the "wrote" line lists what is really there. Runs use 300 rows of the digits fixture.
final class RunFolderCommandTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var data = ""

    private var common: [String] {
        ["--data", data, "--dev-size", "60", "--layers", "16", "--batch", "32", "--seed", "3", "--no-progress"]
    }

    override func setUpWithError() throws {
        scratch = try TemporaryDirectory()
        data = try Fixture.digitsPrefix(rows: 300, in: scratch)
    }

    override func tearDown() { scratch = nil }

    @discardableResult
    private func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> NNProcess.Result {
        try NNProcess.succeed(arguments, scratch: scratch, file: file, line: line)
    }

    private func lastJSON(_ r: NNProcess.Result) throws -> [String: Any] {
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
    }

    private func evaluate(_ model: String, on test: String) throws -> Double {
        let r = try run(["eval", "--model", model, "--data", test, "--json"])
        return try XCTUnwrap(try lastJSON(r)["accuracy"] as? Double)
    }

    /// A run whose last epoch is not its best: three good epochs, then one at a learning rate that
    /// wrecks the weights. The final line gives the last epoch's figures, a second line best/'s with
    /// its epoch, and summary.json holds both; each equals what `nn eval` measures on the checkpoint.
    func testSummaryReportsBestAndLastEpochSeparately() throws {
        let test = try scratch.write("test.csv", text: try String(contentsOfFile: Fixture.repositoryRoot + "/Tests/Fixtures/digits.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst(300).prefix(200).joined(separator: "\n") + "\n")
        let out = scratch.file("run")
        try run(["train"] + common + ["--test-data", test, "--lr", "0.01", "--schedule", "constant", "--epochs", "3", "--out", out])
        let wrecked = try run(["train", "--resume", out, "--set", "lr=20", "--set", "epochs=4", "--json"])

        let summary = try lastJSON(wrecked)
        XCTAssertEqual(summary["epochs"] as? Int, 4)
        let bestEpoch = try XCTUnwrap(summary["best_epoch"] as? Int)
        XCTAssertLessThan(bestEpoch, 4, "the wrecked epoch is not the best: \(wrecked.stderr)")
        let lastTest = try XCTUnwrap(summary["test_accuracy"] as? Double)
        let bestTest = try XCTUnwrap(summary["best_test_accuracy"] as? Double)
        XCTAssertGreaterThan(bestTest, lastTest)
        XCTAssertEqual(lastTest, try evaluate(out + "/epoch-004", on: test), "the final figures are the last epoch's")
        XCTAssertEqual(bestTest, try evaluate(out + "/best", on: test), "best_* are what best/ evaluates to")
        XCTAssertEqual(bestTest, try evaluate(out + RunPath.epoch(bestEpoch), on: test), "best/ holds the epoch it names")
        XCTAssertNotNil(summary["best_dev_accuracy"] as? Double)

        XCTAssertTrue(wrecked.stderr.contains("final accuracy (epoch 4): "), wrecked.stderr)
        XCTAssertTrue(wrecked.stderr.contains("best/ (epoch \(bestEpoch), best dev-accuracy): "), wrecked.stderr)
        XCTAssertTrue(wrecked.stderr.contains(String(format: "test %.2f %%", bestTest * 100)), wrecked.stderr)
        let saved = try String(contentsOfFile: out + "/summary.json", encoding: .utf8)
        XCTAssertTrue(saved.contains("\"best_test_accuracy\":"), saved)
    }

    /// Equal dev accuracy is common on small dev sets: the tie goes to the lower dev loss, in best/
    /// and in early stopping alike (one rule, in `EarlyStopping`).
    func testDevAccuracyTiesGoToTheLowerDevLoss() {
        let rule = EarlyStopping(metric: .devAccuracy, patience: 2)
        XCTAssertTrue(rule.improves(0.9, loss: 0.30, over: 0.9, bestLoss: 0.35))
        XCTAssertFalse(rule.improves(0.9, loss: 0.40, over: 0.9, bestLoss: 0.35))
        XCTAssertTrue(rule.improves(0.91, loss: 0.50, over: 0.9, bestLoss: 0.35))
        XCTAssertFalse(rule.improves(0.89, loss: 0.10, over: 0.9, bestLoss: 0.35))
        XCTAssertTrue(rule.improves(0.5, loss: 9, over: nil, bestLoss: nil))
    }

    /// A second run into a used folder is refused and leaves the first untouched; --overwrite
    /// replaces it without leaving its later epochs behind.
    func testAUsedOutputFolderIsRefusedUnlessOverwritten() throws {
        let out = scratch.file("run")
        try run(["train"] + common + ["--epochs", "3", "--out", out])
        let before = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        let metrics = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)

        let second = try NNProcess.run(["train"] + common + ["--epochs", "1", "--out", out], scratch: scratch)
        XCTAssertEqual(second.status, 2, second.stderr)
        for fragment in ["holds another run", "--resume \(out)", "--overwrite"] {
            XCTAssertTrue(second.stderr.contains(fragment), "\(fragment): \(second.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), before)
        XCTAssertEqual(try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8), metrics)

        try FileManager.default.createDirectory(atPath: out + "/notes", withIntermediateDirectories: false)
        let replaced = try run(["train"] + common + ["--epochs", "1", "--out", out, "--overwrite"])
        let after = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertFalse(after.contains("epoch-002") || after.contains("epoch-003"), "no epochs of the replaced run: \(after)")
        XCTAssertTrue(after.contains("notes"), "files that are not the run's stay")
        XCTAssertEqual(try String(contentsOfFile: out + "/history.jsonl", encoding: .utf8).split(separator: "\n").count, 1)
        XCTAssertTrue(replaced.stdout.contains("wrote \(out)/: best/, history.jsonl, learning-curve.svg, metrics.jsonl, summary.json, epoch-001/"),
                      replaced.stdout)
    }

    /// A checkpoint folder or a file is no run folder, for --out or --resume: refused by name, with
    /// nothing written into it (not even the lock file).
    func testCheckpointFoldersAndFilesAreNotRunFolders() throws {
        let out = scratch.file("run")
        try run(["train"] + common + ["--epochs", "1", "--out", out])
        for checkpoint in ["best", "epoch-001"] {
            let folder = "\(out)/\(checkpoint)"
            let before = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            let into = try NNProcess.run(["train"] + common + ["--epochs", "1", "--out", folder], scratch: scratch)
            XCTAssertEqual(into.status, 2, into.stderr)
            XCTAssertTrue(into.stderr.contains("--out \(folder) is a checkpoint folder (it holds model.safetensors"), into.stderr)
            let resumed = try NNProcess.run(["train", "--resume", folder], scratch: scratch)
            XCTAssertEqual(resumed.status, 2, resumed.stderr)
            XCTAssertTrue(resumed.stderr.contains("give the run folder that holds it (\(out))"), resumed.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), before, "nothing written into \(checkpoint)/")
        }
        let file = try scratch.write("notes.txt", text: "not a folder\n")
        let onFile = try NNProcess.run(["train"] + common + ["--epochs", "1", "--out", file], scratch: scratch)
        XCTAssertEqual(onFile.status, 2, onFile.stderr)
        XCTAssertTrue(onFile.stderr.contains("--out \(file) is a file, not a run folder"), onFile.stderr)
    }

    /// Without --out the run goes to runs/<date>-<time> and says so; nothing is lost.
    func testARunWithoutOutIsSavedUnderRuns() throws {
        let r = try run(["train"] + common + ["--epochs", "2"])
        let runs = try FileManager.default.contentsOfDirectory(atPath: scratch.file("runs"))
        XCTAssertEqual(runs.count, 1)
        let name = try XCTUnwrap(runs.first)
        XCTAssertNotNil(name.range(of: #"^\d{8}-\d{6}$"#, options: .regularExpression), name)
        XCTAssertTrue(r.stdout.contains("writing to runs/\(name) (no --out given)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("wrote runs/\(name)/: best/, history.jsonl, learning-curve.svg, metrics.jsonl, summary.json, "
                                        + "epoch-001/ … epoch-002/ (2 checkpoints)"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.file("runs/\(name)/best/model.safetensors")))
    }

    /// Flags that change nothing in this run are named, not silently dropped: the data-parallel ones
    /// outside mpirun, an optimiser flag the optimiser does not read, and --normalize beside --init.
    func testFlagsThatChangeNothingHereAreNamed() throws {
        let r = try run(["train"] + common + ["--epochs", "1", "--sync-batchnorm", "--momentum", "0.5", "--out", scratch.file("run")])
        XCTAssertTrue(r.stdout.contains("warning: --sync-batchnorm and --bucket-kib act under mpirun only"), r.stdout)
        XCTAssertTrue(r.stdout.contains("warning: --momentum has no effect without --optimizer momentum"), r.stdout)
        let plain = try run(["train"] + common + ["--epochs", "1", "--out", scratch.file("plain")])
        XCTAssertFalse(plain.stdout.contains("warning:"), plain.stdout)
        // A checkpoint's saved normaliser wins over --normalize (its weights were trained with it).
        let seeded = try run(["train"] + common + ["--epochs", "1", "--init", scratch.file("plain"), "--normalize", "none",
                                                   "--weight-init", "xavier", "--out", scratch.file("seeded")])
        XCTAssertTrue(seeded.stdout.contains("warning: --weight-init xavier has no effect beside --init"), seeded.stdout)
        XCTAssertTrue(seeded.stdout.contains("warning: --normalize none gives way to the normaliser saved with --init"), seeded.stdout)
        XCTAssertTrue(seeded.stdout.contains("inputs: the checkpoint's normaliser"), seeded.stdout)
    }

    /// A negative number is a value to check, not a missing one.
    func testNegativeNumbersAreValuesNotFlags() throws {
        let r = try NNProcess.run(["train"] + common + ["--lr", "-1"], scratch: scratch)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--lr -1.0 must be a finite number ≥ 0"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Missing value"), r.stderr)
    }
}

/// Checkpoint folder names inside a run folder.
private enum RunPath {
    static func epoch(_ n: Int) -> String { String(format: "/epoch-%03d", n) }
}
