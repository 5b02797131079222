import Foundation
import XCTest
@testable import NNTune

/// Search spaces that fuzzing found to trap, hang or allocate without bound: each is now one clear
/// error naming the entry, and `nn tune run` creates nothing for it.
final class SearchSpaceValidationTests: XCTestCase {
    /// Parses `json` and expects an invalidSpace error for `entry` mentioning `mentions`.
    private func assertRefused(_ json: String, entry: String, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SearchSpace(json: Data(json.utf8), source: "space.json"), DistributionSyntax.excerpt(json),
                             file: file, line: line) { error in
            guard case let TuneError.invalidSpace(e, _) = error else {
                return XCTFail("\(DistributionSyntax.excerpt(json)): expected invalidSpace, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(e, entry, DistributionSyntax.excerpt(json), file: file, line: line)
            XCTAssertTrue("\(error)".contains(mentions), "'\(error)' should mention '\(mentions)'", file: file, line: line)
            XCTAssertLessThan("\(error)".count, 400, "one short line, even for a huge input", file: file, line: line)
        }
    }

    func testFuzzedCrashersAreErrors() {
        assertRefused(#"{"epochs":"fixed(1e300)"}"#, entry: "epochs", mentions: "choice value 1e+300 lies outside ±1e+15")
        assertRefused(#"{"epochs":"fixed(1000000)"}"#, entry: "epochs", mentions: "above the limit of 100000 for training epochs")
        assertRefused(#"{"depth":"int(1, 2147483648)"}"#, entry: "depth", mentions: "limit of 64")
        assertRefused(#"{"depth":"fixed(2147483648)"}"#, entry: "depth", mentions: "limit of 64")
        assertRefused(#"{"hidden":"int(1, 1e300)"}"#, entry: "hidden", mentions: "within ±1e+15")
        assertRefused(#"{"batch":{"dist":"choice","values":[1e300]}}"#, entry: "batch", mentions: "outside ±1e+15")
        assertRefused(#"{"layers":"choice(\"1000000000000\")"}"#, entry: "layers", mentions: "not a layer size from 1 to 65536")
        assertRefused(#"{"layers":"choice(\"99999999999999999999999\")"}"#, entry: "layers", mentions: "not a layer size")
        let manyLayers = Array(repeating: "8", count: 65).joined(separator: ",")
        assertRefused(#"{"layers":"choice(\"\#(manyLayers)\")"}"#, entry: "layers", mentions: "limit of 64")
        assertRefused(#"{"layers":"choice(\"65536,65536\")"}"#, entry: "layers", mentions: "limit of 1073741824")
        assertRefused(#"{"hidden":"fixed(65536)","depth":"int(1, 64)"}"#, entry: "hidden", mentions: "limit of 1073741824")
        assertRefused(#"{"depth":"int(1, 64)","hidden":"int(1, 8192)"}"#, entry: "hidden", mentions: "lower the largest hidden or depth")
        assertRefused(#"{"batch":"fixed(2000000)"}"#, entry: "batch", mentions: "limit of 1048576")
    }

    /// NaN, infinities, huge and negative numbers in every distribution kind, both spellings.
    func testNonFiniteHugeAndNegativeNumbersInEveryKind() {
        let cases: [(json: String, entry: String, mentions: String)] = [
            (#"{"lr": "uniform(nan, 1)"}"#, "lr", "not a finite number"),
            (#"{"lr": "uniform(0, inf)"}"#, "lr", "not a finite number"),
            (#"{"lr": "uniform(0, 1e400)"}"#, "lr", "not a finite number"),
            (#"{"lr": "uniform(-infinity, 1)"}"#, "lr", "not a finite number"),
            (#"{"l2": "uniform(-1e308, 1e308)"}"#, "l2", "within ±1e+15"),
            (#"{"l2": "uniform(-1, 1)"}"#, "l2", "≥ 0"),
            (#"{"lr": "logUniform(nan, 1)"}"#, "lr", "not a finite number"),
            (#"{"lr": "logUniform(1e-4, 1e300)"}"#, "lr", "within ±1e+15"),
            (#"{"lr": "logUniform(-5, -1)"}"#, "lr", "log range"),
            (#"{"momentum": "oneMinusLogUniform(nan, 0.9)"}"#, "momentum", "not a finite number"),
            (#"{"momentum": "oneMinusLogUniform(-0.5, 0.9)"}"#, "momentum", "≥ 0"),
            (#"{"momentum": "oneMinusLogUniform(-1e300, 0.9)"}"#, "momentum", "within ±1e+15"),
            (#"{"depth": "int(nan, 3)"}"#, "depth", "not a finite number"),
            (#"{"depth": "int(1, inf)"}"#, "depth", "not a finite number"),
            (#"{"depth": "int(-9223372036854775808, 3)"}"#, "depth", "within ±1e+15"),
            (#"{"depth": "int(-5, 3)"}"#, "depth", "≥ 1"),
            (#"{"epochs": "int(1, 99999999999999999999)"}"#, "epochs", "within ±1e+15"),
            (#"{"batch": "choice(nan, 64)"}"#, "batch", "not a finite number"),
            (#"{"batch": "choice(64, -inf)"}"#, "batch", "not a finite number"),
            (#"{"batch": "choice(-64)"}"#, "batch", "≥ 1"),
            (#"{"epochs": "fixed(-1)"}"#, "epochs", "≥ 1"),
            (#"{"epochs": "fixed(nan)"}"#, "epochs", "not a finite number"),
            (#"{"lr": {"dist": "uniform", "low": -1e308, "high": 1e308}}"#, "lr", "within ±1e+15"),
            (#"{"depth": {"dist": "int", "low": 1, "high": 1e300}}"#, "depth", "within ±1e+15"),
            (#"{"depth": {"dist": "int", "low": -1e300, "high": 3}}"#, "depth", "within ±1e+15"),
            (#"{"lr": {"dist": "logUniform", "low": 0, "high": 1}}"#, "lr", "log range"),
            (#"{"momentum": {"dist": "oneMinusLogUniform", "low": 0.5, "high": 1e300}}"#, "momentum", "within ±1e+15"),
            (#"{"epochs": {"dist": "fixed", "value": 1e300}}"#, "epochs", "outside ±1e+15"),
            (#"{"epochs": {"dist": "fixed", "value": -3}}"#, "epochs", "≥ 1"),
        ]
        for c in cases { assertRefused(c.json, entry: c.entry, mentions: c.mentions) }
        // A JSON number beyond Double is not JSON Swift can read: the file is refused as such.
        XCTAssertThrowsError(try SearchSpace(json: Data(#"{"lr": {"dist": "uniform", "low": 0, "high": 1e400}}"#.utf8), source: "s.json")) {
            guard case TuneError.malformedSpaceFile = $0 else { return XCTFail("\($0)") }
        }
    }

    func testEmptyAndDuplicateChoices() {
        assertRefused(#"{"optimizer": "choice()"}"#, entry: "optimizer", mentions: "at least one value")
        assertRefused(#"{"optimizer": {"dist": "choice", "values": []}}"#, entry: "optimizer", mentions: "at least one value")
        assertRefused(#"{"batch": "choice(64, 128, 64.0)"}"#, entry: "batch", mentions: "choice lists 64.0 twice")
        assertRefused(#"{"optimizer": "choice(adam, sgd, \"adam\")"}"#, entry: "optimizer", mentions: "choice lists adam twice")
        assertRefused(#"{"batch": {"dist": "choice", "values": [32, 32]}}"#, entry: "batch", mentions: "twice")
    }

    /// 200,000 choice values took 100 s to check for duplicates; now the count is refused at once,
    /// and the largest allowed choice is checked in linear time.
    func testHugeChoicesAreRefusedQuickly() throws {
        let started = Date()
        let huge = (1...200_000).map(String.init).joined(separator: ", ")
        assertRefused(#"{"batch": "choice(\#(huge))"}"#, entry: "batch", mentions: "200000 values, more than the limit of 1000")
        let values = (1...200_000).map { "\($0)" }.joined(separator: ",")
        assertRefused(#"{"batch": {"dist": "choice", "values": [\#(values)]}}"#, entry: "batch", mentions: "limit of 1000")
        let largest = (1...Distribution.maximumChoiceValues).map(String.init).joined(separator: ", ")
        XCTAssertNoThrow(try SearchSpace(json: Data(#"{"batch": "choice(\#(largest))"}"#.utf8), source: "s.json"))
        let duplicateAtEnd = (1..<Distribution.maximumChoiceValues).map(String.init).joined(separator: ", ") + ", 1"
        assertRefused(#"{"batch": "choice(\#(duplicateAtEnd))"}"#, entry: "batch", mentions: "choice lists 1 twice")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "validation is linear")
    }

    func testDeeplyNestedAndHugeJSON() throws {
        let deep = #"{"lr": "# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        XCTAssertThrowsError(try SearchSpace(json: Data(deep.utf8), source: "deep.json")) { error in
            guard case TuneError.malformedSpaceFile(path: "deep.json", _) = error else { return XCTFail("\(error)") }
        }
        let nested = #"{"lr": "# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"
        assertRefused(nested, entry: "lr", mentions: "expected a string")
        let nestedChoice = #"{"batch": {"dist": "choice", "values": ["# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "]}}"
        assertRefused(nestedChoice, entry: "batch", mentions: "must be a number or a string")
        assertRefused(#"{"optimizer": "choice(\"\#(String(repeating: "a", count: 5_000))\")"}"#, entry: "optimizer", mentions: "limit of 1000")

        let dir = try makeTemporaryDirectory("huge-space")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("huge.json")
        try Data((#"{"lr": "logUniform(1e-4, 1)", "pad": ""# + String(repeating: " ", count: 2 << 20) + "\"}").utf8).write(to: file)
        XCTAssertThrowsError(try SearchSpace(contentsOf: file.path)) { error in
            XCTAssertEqual(error as? TuneError, .malformedSpaceFile(
                path: file.path, detail: "larger than the limit of 1048576 bytes; a search space is one small JSON object"))
        }
        XCTAssertThrowsError(try SearchSpace(contentsOf: "/dev/zero"), "an endless file is read up to the cap only")
    }

    /// A file's entry error names the file, the entry and the problem.
    func testFileErrorsNameFileEntryAndProblem() throws {
        let dir = try makeTemporaryDirectory("space-file")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("space.json")
        try Data(#"{"epochs":"fixed(1e300)"}"#.utf8).write(to: file)
        XCTAssertThrowsError(try SearchSpace(contentsOf: file.path)) { error in
            XCTAssertEqual("\(error)", "search space file \(file.path), entry 'epochs': choice value 1e+300 lies outside ±1e+15")
        }
    }

    /// A worker that prints no result fails its trial with an error of its own, not as an option out of
    /// range, which `nn` reports as a usage error.
    func testUnreadableWorkerOutputIsNotAUsageError() {
        XCTAssertThrowsError(try WorkerOutput.result(fromStdout: "epoch 1\n{\"epoch\": 1}\n")) { error in
            XCTAssertTrue("\(error)".hasPrefix("worker output: no JSON line with a dev accuracy"), "\(error)")
            XCTAssertEqual((error as? TuneError)?.isUsageError, false, "\(error)")
        }
        XCTAssertTrue(TuneError.invalidOption(name: "--trials", detail: "0 must be ≥ 1").isUsageError)
    }

    /// Assignments read back from a study database are not re-validated: turning them into `nn train`
    /// arguments must not trap whatever they hold, and a stored space is validated like a file's.
    func testStoredValuesNeverTrap() throws {
        let args = Hyperparameter.trainArguments(for: ["epochs": .real(1e300), "batch": .real(.nan), "depth": .integer(.max),
                                                       "hidden": .real(-.infinity)])
        XCTAssertEqual(args.prefix(4), ["--batch", "nan", "--epochs", "1e+300"])
        XCTAssertLessThanOrEqual(args.last?.split(separator: ",").count ?? .max, Hyperparameter.maximumDepth)
        XCTAssertNil(WorkerOutput.epoch(fromLine: #"{"epoch": 1e300, "dev_accuracy": 0.5}"#))
        XCTAssertEqual(Distribution.integer(low: .min, high: .max).sample(in: .interval(low: -1e300, high: 1e300), u: 0.5), .integer(0))
        XCTAssertEqual(Distribution.choice([.integer(1)]).value(atCoordinate: .nan), .integer(1))

        let stored = #"{"entries": [{"name": "depth", "distribution": {"integer": {"low": 1, "high": 2147483648}}}]}"#
        XCTAssertThrowsError(try JSONDecoder().decode(SearchSpace.self, from: Data(stored.utf8))) { error in
            XCTAssertTrue("\(error)".contains("limit of 64"), "\(error)")
        }
        let space = try SearchSpace(["lr": .logUniform(low: 1e-4, high: 1), "depth": .integer(low: 1, high: 3)])
        XCTAssertEqual(try JSONDecoder().decode(SearchSpace.self, from: try JSONEncoder().encode(space)), space)
    }

    func testOptionCountsHaveLimits() {
        let space = SearchSpace.recommended
        for (request, option) in [(StudyRequest(space: space, trialsPerRound: 1_000_000_000_000), "--trials"),
                                  (StudyRequest(space: space, rounds: 1_000_000), "--rounds"),
                                  (StudyRequest(space: space, gridPoints: 1_000_000_000), "--grid-points")] {
            XCTAssertThrowsError(try request.resolve(stored: nil, studyName: "s")) { error in
                guard case let TuneError.invalidOption(name, detail) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(name, option)
                XCTAssertTrue(detail.contains("above the limit"), detail)
            }
        }
        XCTAssertThrowsError(try ExecutionOptions(parallel: 100_000).validate())
    }

    /// `nn tune run` with a bad space file (exit 1) or option (exit 2) says so in one message and creates nothing.
    func testRejectedRunCreatesNothing() throws {
        let root = try makeTemporaryDirectory("nothing-created")
        defer { try? FileManager.default.removeItem(at: root) }
        let studies = root.appendingPathComponent("studies")
        let bad = root.appendingPathComponent("bad.json")
        try Data(#"{"epochs":"fixed(1e300)"}"#.utf8).write(to: bad)
        let good = root.appendingPathComponent("good.json")
        try Data(#"{"lr": "logUniform(1e-4, 1)"}"#.utf8).write(to: good)
        let twoDimensions = root.appendingPathComponent("two.json")
        try Data(#"{"lr": "logUniform(1e-4, 1)", "l2": "logUniform(1e-6, 1e-2)"}"#.utf8).write(to: twoDimensions)
        let base = ["tune", "run", "--study", "s", "--root", studies.path]
        let cases: [(arguments: [String], status: Int32, mentions: String)] = [
            (["--space", bad.path], 1, "search space file \(bad.path), entry 'epochs'"),
            (["--space", root.appendingPathComponent("missing.json").path], 1, "cannot read the file"),
            // An option out of range is a usage error (2), as in `nn train`; a bad file is a data error (1).
            (["--space", good.path, "--trials", "0"], 2, "--trials"),
            (["--space", good.path, "--trials", "1000000000000"], 2, "above the limit of 100000"),
            (["--space", good.path, "--parallel=-1"], 2, "--parallel"),
            (["--space", good.path, "--trial-timeout", "nan"], 2, "--trial-timeout"),
            (["--space", good.path, "--worker", root.appendingPathComponent("no-such-nn").path], 2, "is not an executable file"),
            (["--space", good.path, "--", "--out", "x"], 2, "the tuner sets --out"),
            (["--space", twoDimensions.path, "--sampler", "grid", "--grid-points", "1000"], 2, "the grid has 1000000 points"),
        ]
        for c in cases {
            let run = try TuneCLI.run(base + c.arguments, in: root, label: "rejected", timeout: 30)
            XCTAssertEqual(run.status, c.status, "\(c.arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(c.mentions), "\(c.arguments): \(run.stderr)")
            XCTAssertFalse(run.stderr.contains("Fatal error"))
            XCTAssertFalse(FileManager.default.fileExists(atPath: studies.path), "\(c.arguments) created \(studies.path)")
        }
    }
}
