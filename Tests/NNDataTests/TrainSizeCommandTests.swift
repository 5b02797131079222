import Foundation
import XCTest

/// `nn train --train-size`: a seeded subset of what the dev split leaves, counted in the log and the
/// summary, with the dev set untouched; recorded in the run's settings so `--resume` trains on the
/// same subset, and refused by `--set` because it defines the run.
///
/// Runs use the native backend (set by ``NNProcess``) on the first 300 rows of the digits fixture,
/// with `--dev-size 30`, so 270 samples are left to draw from.
final class TrainSizeCommandTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var data = ""

    override func setUpWithError() throws {
        scratch = try TemporaryDirectory()
        data = try Fixture.digitsPrefix(rows: 300, in: scratch)
    }

    override func tearDown() { scratch = nil }

    private var common: [String] {
        ["--data", data, "--dev-size", "30", "--layers", "8", "--batch", "32", "--epochs", "1", "--no-progress", "--json"]
    }

    private func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> NNProcess.Result {
        let result = try NNProcess.run(["train"] + arguments, scratch: scratch)
        XCTAssertEqual(result.status, 0, "nn train \(arguments.joined(separator: " ")) failed: \(result.stderr)", file: file, line: line)
        return result
    }

    /// The `--json` line: the last line of stdout.
    private func summary(_ result: NNProcess.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        return try XCTUnwrap(object, "no JSON line on stdout: \(result.stdout)", file: file, line: line)
    }

    func testCountAndFractionSetTheTrainingSamplesAndKeepTheDevSet() throws {
        let count = try run(common + ["--train-size", "100"])
        XCTAssertEqual(try summary(count)["train_samples"] as? Int, 100)
        XCTAssertEqual(try summary(count)["dev_samples"] as? Int, 30)
        XCTAssertTrue(count.stderr.contains("100 of 270 samples, dev 30"), count.stderr)

        // A fraction is of the 270 samples the dev split leaves: 270 · 0.5 = 135.
        for fraction in ["0.5", "50%"] {
            let r = try run(common + ["--train-size", fraction])
            XCTAssertEqual(try summary(r)["train_samples"] as? Int, 135, "--train-size \(fraction)")
        }
        let all = try run(common)
        XCTAssertEqual(try summary(all)["train_samples"] as? Int, 270)
    }

    /// With lr 0, no batch norm, and weights plus input normaliser taken from one checkpoint (--init;
    /// otherwise the normaliser is fitted on the training samples), nothing depends on the training
    /// set, so the dev loss is a function of the dev samples alone: equal losses mean the same dev
    /// set, and a different --split-seed (a different dev set) shows the comparison can fail.
    func testTheDevSetDoesNotDependOnTheTrainSize() throws {
        let frozen = common + ["--lr", "0", "--no-batchnorm", "--seed", "3"]
        let reference = scratch.file("reference")
        _ = try run(frozen + ["--out", reference])
        func devLoss(_ extra: [String]) throws -> Double {
            let result = try run(frozen + ["--init", (reference as NSString).appendingPathComponent("best")] + extra)
            return try XCTUnwrap(try summary(result)["dev_loss"] as? Double, "dev_loss missing: \(result.stdout)")
        }
        let full = try devLoss([])
        // Relative 1e-5: each process times the native GEMM once and may pick fused or separate
        // multiply-add, which moves a float32 loss by a few ulps (~1e-7); another set of 30 dev
        // samples moves it by percents.
        let tolerance = 1e-5 * abs(full)
        XCTAssertEqual(try devLoss(["--train-size", "40"]), full, accuracy: tolerance)
        XCTAssertEqual(try devLoss(["--train-size", "75%"]), full, accuracy: tolerance)
        XCTAssertGreaterThan(abs(try devLoss(["--split-seed", "9"]) - full), 100 * tolerance, "another split seed must give another dev set")
    }

    func testTheSizeIsRecordedForResumeAndRefusedBySet() throws {
        let out = scratch.file("run")
        _ = try run(common + ["--train-size", "60", "--out", out])
        let history = try String(contentsOfFile: (out as NSString).appendingPathComponent("history.jsonl"), encoding: .utf8)
        XCTAssertTrue(history.contains("\"train-size\":\"60\""), history)

        let resumed = try run(["--resume", out, "--set", "epochs=2", "--no-progress", "--json"])
        XCTAssertEqual(try summary(resumed)["train_samples"] as? Int, 60)
        XCTAssertEqual(try summary(resumed)["epochs"] as? Int, 2)

        let set = try NNProcess.run(["train", "--resume", out, "--set", "train-size=30"], scratch: scratch)
        XCTAssertEqual(set.status, 2, set.stderr)
        XCTAssertTrue(set.stderr.contains("'train-size' defines the run"), set.stderr)
        let flag = try NNProcess.run(["train", "--resume", out, "--train-size", "30"], scratch: scratch)
        XCTAssertEqual(flag.status, 2, flag.stderr)
        XCTAssertTrue(flag.stderr.contains("--train-size cannot be given"), flag.stderr)
    }

    func testSizesThatLeaveNothingOrTooMuchAreUsageErrors() throws {
        for (size, fragment) in [("0", "--train-size 0 leaves nothing"), ("271", "exceeds the 270 training samples"),
                                 ("0.001", "is none")] {
            let r = try NNProcess.run(["train"] + common + ["--train-size", size], scratch: scratch)
            XCTAssertEqual(r.status, 2, "--train-size \(size): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(fragment), "--train-size \(size): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Fatal error"), "must never trap")
        }
    }
}
