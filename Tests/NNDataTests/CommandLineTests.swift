import Foundation
import NNNative
import NNTrain
import XCTest

/// Runs the built `nn` binary from the products directory and checks exit codes and messages:
/// 0 for success, 1 for bad data or models, 2 for bad usage, and one clear line on stderr.
final class CommandLineTests: XCTestCase {
    /// Runs `nn arguments…` on the native backend; its output files live in a scratch folder of their own.
    private func nn(_ arguments: [String]) throws -> NNProcess.Result {
        try NNProcess.run(arguments, scratch: TemporaryDirectory())
    }

    private func assertFails(_ arguments: [String], status: Int32, mentioning fragments: [String],
                             file: StaticString = #filePath, line: UInt = #line) throws {
        try NNProcess.assertFails(arguments, status: status, mentioning: fragments, scratch: TemporaryDirectory(), file: file, line: line)
    }

    /// 90 rows of a 3-class problem any small network separates: the class is the position of the largest feature.
    private func separableCSV(_ dir: TemporaryDirectory) throws -> String {
        var generator = SystemRandomNumberGenerator()
        var text = "f0,f1,f2,label\n"
        for i in 0..<90 {
            var f = (0..<3).map { _ in Double.random(in: 0...1, using: &generator) }
            f[i % 3] += 2
            text += f.map { String(format: "%.3f", $0) }.joined(separator: ",") + ",\(i % 3)\n"
        }
        return try dir.write("three.csv", text: text)
    }

    func testTrainWritesCheckpointsAndAJSONLineThenEvalReadsThem() throws {
        let dir = try TemporaryDirectory()
        let data = try separableCSV(dir)
        let out = dir.file("run")
        let r = try nn(["train", "--data", data, "--layers", "8", "--epochs", "3", "--batch", "16", "--lr", "0.01",
                        "--dev-size", "15", "--out", out, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "last line must be JSON")
        XCTAssertEqual(json["backend"] as? String, "native")
        XCTAssertEqual(json["epochs"] as? Int, 3)
        XCTAssertNotNil(json["dev_accuracy"] as? Double)
        XCTAssertTrue(json["test_accuracy"] is NSNull, "no test set was given")
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, "with --json, stdout holds only the JSON line")
        // With --json the log goes to stderr.
        XCTAssertTrue(r.stderr.contains("lr 0.01 cosine"), "the default schedule is cosine: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("inputs: standardised per feature"), "a CSV table is standardised per column: \(r.stderr)")
        for name in ["metrics.jsonl", "learning-curve.svg", "summary.json", "epoch-003/model.safetensors",
                     "epoch-003/training-state.safetensors", "best/model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.file("run/\(name)")), name)
        }
        let metrics = try String(contentsOfFile: dir.file("run/metrics.jsonl"), encoding: .utf8)
        XCTAssertEqual(metrics.split(separator: "\n").count, 3)

        let predictions = dir.file("p.csv")
        let e = try nn(["eval", "--model", out + "/epoch-003", "--data", data, "--predictions", predictions, "--json"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let evaluation = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(evaluation["samples"] as? Int, 90)
        let rows = try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "label,predicted,p0,p1,p2")
        XCTAssertEqual(rows.count, 91)

        // Starting from a checkpoint of another architecture is a data/model error naming the fix.
        try assertFails(["train", "--data", data, "--layers", "5", "--init", out + "/best", "--epochs", "1"],
                        status: 1, mentioning: ["checkpoint of another architecture", "--layers"])
        // Evaluating on data of another width names both widths.
        let wide = try dir.write("wide.csv", text: "1,2,3,4,0\n5,6,7,8,1\n")
        try assertFails(["eval", "--model", out + "/best", "--data", wide], status: 1, mentioning: ["4 features", "takes 3"])
    }

    /// `--normalize` decides what the saved normaliser holds: one μ and σ repeated (global) or one per
    /// column (per-feature, auto's choice for a CSV table); the run log says which.
    func testNormalizeOptionChoosesTheSavedNormalizer() throws {
        let dir = try TemporaryDirectory()
        let data = try separableCSV(dir)
        func normalizer(_ extra: [String], logs expected: String) throws -> InputNormalizer? {
            let out = dir.file("run-\(extra.joined())")
            let r = try nn(["train", "--data", data, "--layers", "4", "--epochs", "1", "--dev-size", "0", "--out", out] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("inputs: \(expected)"), "\(extra): \(r.stdout)")
            return try ModelCheckpoint.load(out + "/epoch-001", backend: NativeBackend()).normalizer
        }
        let auto = try XCTUnwrap(normalizer([], logs: "standardised per feature"))
        XCTAssertNotEqual(auto.mean[0], auto.mean[2], "three columns, three means")
        let global = try XCTUnwrap(normalizer(["--normalize", "global"], logs: "standardised globally"))
        XCTAssertEqual(Set(global.mean).count, 1)
        XCTAssertEqual(Set(global.standardDeviation).count, 1)
        XCTAssertNil(try normalizer(["--normalize", "none"], logs: "as given"))
        try assertFails(["train", "--normalize", "minmax"], status: 2, mentioning: ["minmax", "per-feature", "global"])
    }

    func testBadDataFilesExitWithStatus1AndAClearMessage() throws {
        let dir = try TemporaryDirectory()
        let ragged = try dir.write("ragged.csv", text: "1,2,0\n3,4,1\n5,6\n")
        try assertFails(["train", "--data", ragged], status: 1, mentioning: ["ragged.csv", "line 3", "ragged"])
        let word = try dir.write("word.csv", text: "1,2,0\n3,abc,1\n")
        try assertFails(["train", "--data", word], status: 1, mentioning: ["line 2, column 2", "'abc' is not a number"])
        let labels = try dir.write("labels.csv", text: "1,2,0\n3,4,5\n")
        try assertFails(["train", "--data", labels, "--classes", "3"], status: 1, mentioning: ["label 5", "outside the class range 0..<3"])
        let idx = Fixture.idxUInt8(shape: [10, 2, 2], values: [UInt8](repeating: 1, count: 40))
        let truncated = try dir.write("cut-idx3-ubyte", Array(idx.dropLast(7)))
        let idxLabels = try dir.write("labels-idx1-ubyte", Fixture.idxUInt8(shape: [10], values: Array(repeating: 0, count: 10)))
        try assertFails(["train", "--data", truncated, "--labels", idxLabels], status: 1, mentioning: ["truncated", "re-download"])
        let complex = try dir.write("x.npy", Fixture.npy(descr: "<c8", shape: [2, 1], payload: [UInt8](repeating: 0, count: 16)))
        try assertFails(["train", "--data", complex, "--labels", idxLabels], status: 1, mentioning: ["unsupported dtype '<c8'", "astype"])
        // Options another format reads are refused by name, not ignored.
        try assertFails(["train", "--data", labels, "--labels", idxLabels], status: 1,
                        mentioning: ["--labels reads the labels of .npy or IDX features", "this is a CSV file", "drop it"])
        try assertFails(["train", "--data", truncated, "--labels", idxLabels, "--label-column", "0", "--npz-y", "y"], status: 1,
                        mentioning: ["--label-column reads CSV files; --npz-y reads .npz archives", "this is an IDX file", "drop them"])
        let corrupt = try dir.write("model.safetensors", [200, 0, 0, 0, 0, 0, 0, 0, 123])
        try assertFails(["eval", "--model", corrupt, "--data", ragged], status: 1, mentioning: ["truncated or corrupt"])
    }

    func testUsageErrorsExitWithStatus2() throws {
        try assertFails(["train", "--optimizer", "adamw"], status: 2, mentioning: ["adamw", "sgd", "adam"])
        try assertFails(["train", "--backend", "cuda"], status: 2, mentioning: ["cuda"])
        try assertFails(["train", "--dropout", "0"], status: 2, mentioning: ["keep probability"])
        // A negative number is a value to refuse by name, not a missing one.
        try assertFails(["eval", "--model", "m", "--data", "digits", "--batch", "-1"], status: 2, mentioning: ["--batch -1 must be at least 1"])
        try assertFails(["gradcheck", "--threshold", "-1"], status: 2, mentioning: ["--threshold -1.0 must be a finite number > 0"])
        try assertFails(["tune", "--study", "s", "--trials", "-1"], status: 2, mentioning: ["--trials", "-1 must be ≥ 1"])
        try assertFails(["train", "--layers", "10,-3"], status: 2, mentioning: ["--layers"])
        try assertFails(["train", "--no-such-option"], status: 2, mentioning: ["no-such-option"])
        try assertFails(["eval", "--data", "digits"], status: 2, mentioning: ["--model"])
    }

    /// `nn tune` runs a study by default, so its help shows how: the run options and the space
    /// format with the default space (ArgumentParser alone would list only the subcommands).
    func testTuneHelpShowsTheRunOptionsAndTheSpaceFormat() throws {
        for arguments in [["tune", "--help"], ["help", "tune"]] {
            let r = try nn(arguments)
            XCTAssertEqual(r.status, 0, r.stderr)
            for fragment in ["--trials <trials>", "--parallel", "--space <file>", "logUniform(a, b)", "lr logUniform(0.0001, 0.01)",
                             "optimizer choice(\"adam\")", "nn tune report"] {
                XCTAssertTrue(r.stdout.contains(fragment), "\(arguments): no \(fragment) in\n\(r.stdout)")
            }
        }
    }

    /// Every default a help page shows is written as the argument that sets it: ArgumentParser prints
    /// a type's Swift description unless the type supplies its own, which once read
    /// `(default: CSVDelimiter(character: ","))`.
    func testHelpShowsDefaultsAsArguments() throws {
        let pages = [["train"], ["eval"], ["predict"], ["export"], ["gradcheck"], ["devices"], ["tune", "worker"], ["tune", "report"],
                     ["tune", "list"], ["tune", "copy"], ["dashboard"], ["tune"]]
        let swiftValue = try NSRegularExpression(pattern: #"\(default: [A-Za-z_][A-Za-z0-9_.]*\("#)
        for page in pages {
            let r = try nn(page + ["--help"])
            XCTAssertEqual(r.status, 0, "\(page): \(r.stderr)")
            // Help wraps at the terminal's width; one space per gap makes a default one phrase again.
            let text = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            let range = NSRange(text.startIndex..., in: text)
            if let match = swiftValue.firstMatch(in: text, range: range), let found = Range(match.range, in: text) {
                XCTFail("\(page.joined(separator: " ")) --help shows a Swift value as a default, at '\(text[found])…'")
            }
            if page == ["train"] {
                for fragment in ["(default: ,)", "(default: 10%)"] {
                    XCTAssertTrue(text.contains(fragment), "no \(fragment) in nn train --help")
                }
            }
        }
    }

    func testGradcheckPassesAndFailsOnItsThreshold() throws {
        let pass = try nn(["gradcheck", "--json"])
        XCTAssertEqual(pass.status, 0, pass.stderr)
        XCTAssertTrue(pass.stdout.contains("\"passed\":true"), pass.stdout)
        // A threshold no Float64 difference quotient can meet must fail the check with status 1.
        let strict = try nn(["gradcheck", "--threshold", "1e-15"])
        XCTAssertEqual(strict.status, 1)
        XCTAssertTrue(strict.stderr.contains("gradient check failed"), strict.stderr)
        // An absurd batch is a usage error naming the limit, not an allocation that aborts.
        try assertFails(["gradcheck", "--samples", "1000000000000"], status: 2, mentioning: ["--samples", "at most 4096"])
    }
}
