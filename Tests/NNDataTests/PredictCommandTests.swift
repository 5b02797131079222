import Foundation
import NNTrain
import XCTest

/// `nn predict` on data without labels, class names from text labels, and the hints that send a
/// user from `nn eval` to `nn predict`. Every model here trains in about a second on a separable
/// three-class table, on the native backend (set by ``NNProcess``).
final class PredictCommandTests: XCTestCase {
    private var scratch: TemporaryDirectory!

    override func setUpWithError() throws { scratch = try TemporaryDirectory() }
    override func tearDown() { scratch = nil }

    @discardableResult
    private func succeed(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> NNProcess.Result {
        try NNProcess.succeed(arguments, scratch: scratch, file: file, line: line)
    }

    private func fails(_ arguments: [String], status: Int32, mentioning fragments: [String],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        try NNProcess.assertFails(arguments, status: status, mentioning: fragments, scratch: scratch, file: file, line: line)
    }

    /// Rows of three features where the class is the position of the largest, labelled by `label`.
    private func table(rows: Int, seed: UInt64, delimiter: String = ",", label: ((Int) -> String)?) -> String {
        var generator = SeededGenerator(seed: seed)
        var text = ""
        for i in 0..<rows {
            var f = (0..<3).map { _ in Double(generator.next() % 1000) / 1000 }
            f[i % 3] += 2
            text += f.map { String(format: "%.3f", $0) }.joined(separator: delimiter)
            if let label { text += delimiter + label(i % 3) }
            text += "\n"
        }
        return text
    }

    private let species = ["setosa", "versicolor", "virginica"]

    /// Trains on text labels: the classes are the sorted names, stored in the checkpoint; `nn eval`
    /// maps a test file's names onto them and `nn predict` writes names, rows without labels.
    func testTextLabelsBecomeNamedClassesThatPredictAndEvalUse() throws {
        // Out of alphabetical order on purpose: class numbers follow the sorted names, not the file.
        let names = ["virginica", "setosa", "versicolor"]
        let train = try scratch.write("flowers.csv", text: "a,b,c,species\n" + table(rows: 90, seed: 1) { names[$0] })
        let out = scratch.file("run")
        try succeed(["train", "--data", train, "--layers", "8", "--epochs", "6", "--batch", "16", "--lr", "0.02", "--dev-size", "15", "--out", out])
        let metadata = try SafeTensors.read(path: out + "/best/model.safetensors").metadata
        XCTAssertEqual(metadata[ModelCheckpoint.Key.classNames], #"["setosa","versicolor","virginica"]"#)

        let test = try scratch.write("test.csv", text: "a,b,c,species\n" + table(rows: 30, seed: 2) { names[$0] })
        let evaluated = scratch.file("eval.csv")
        let e = try succeed(["eval", "--model", out + "/best", "--data", test, "--predictions", evaluated, "--json"])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
        XCTAssertGreaterThan(try XCTUnwrap(json["accuracy"] as? Double), 0.9, "names mapped onto the model's classes")
        XCTAssertEqual(json["data"] as? String, "test.csv", "a separate file is not called a 'train' split")
        let rows = try String(contentsOfFile: evaluated, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "label,predicted,p_setosa,p_versicolor,p_virginica")
        XCTAssertTrue(try XCTUnwrap(rows.dropFirst().first).hasPrefix("virginica,"), "labels are written as names")

        let unlabelled = try scratch.write("new.csv", text: table(rows: 12, seed: 3, label: nil))
        let predicted = scratch.file("predictions.csv")
        let p = try succeed(["predict", "--model", out + "/best", "--data", unlabelled, "--out", predicted])
        XCTAssertTrue(p.stderr.contains("12 samples"), p.stderr)
        let lines = try String(contentsOfFile: predicted, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first, "predicted,p_setosa,p_versicolor,p_virginica")
        XCTAssertEqual(lines.count, 13)
        // The run folder itself stands for its best epoch.
        let viaRunFolder = scratch.file("predictions-run.csv")
        try succeed(["predict", "--model", out, "--data", unlabelled, "--out", viaRunFolder])
        XCTAssertEqual(try String(contentsOfFile: viaRunFolder, encoding: .utf8), try String(contentsOfFile: predicted, encoding: .utf8))
        // Row i has its largest feature at i % 3, the class `names[i % 3]`: a trained model gets these right.
        let predictedNames = lines.dropFirst().map { String($0.split(separator: ",")[0]) }
        let expected = (0..<12).map { names[$0 % 3] }
        XCTAssertGreaterThanOrEqual(zip(predictedNames, expected).filter { $0 == $1 }.count, 11, "\(predictedNames)")
        for line in lines.dropFirst() {
            let p = line.split(separator: ",").dropFirst().compactMap { Double($0) }
            XCTAssertEqual(p.count, 3)
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-5, "probabilities sum to 1 (Float32 softmax)")
        }

        // A test file whose names the model does not know is refused with the known ones listed.
        let stranger = try scratch.write("other.csv", text: "a,b,c,species\n1,2,3,lotus\n")
        try fails(["eval", "--model", out + "/best", "--data", stranger], status: 1, mentioning: ["'lotus'", "setosa, versicolor, virginica"])
    }

    /// `nn eval` on a file with no label column says so and names `nn predict`; `nn predict`
    /// reads all columns as features, skips a named label column, and explains a width mismatch.
    func testPredictReadsUnlabelledFilesAndEvalPointsToIt() throws {
        let train = try scratch.write("three.csv", text: table(rows: 90, seed: 4) { String($0) })
        let out = scratch.file("run")
        try succeed(["train", "--data", train, "--layers", "8", "--epochs", "6", "--batch", "16", "--lr", "0.02", "--dev-size", "15", "--out", out])
        let unlabelled = try scratch.write("unlabelled.csv", text: table(rows: 5, seed: 5, label: nil))
        try fails(["eval", "--model", out + "/best", "--data", unlabelled], status: 1,
                  mentioning: ["3 columns, as many as the model's inputs", "no label column", "nn predict --model"])

        let toStdout = try succeed(["predict", "--model", out + "/best", "--data", unlabelled])
        let lines = toStdout.stdout.split(separator: "\n")
        XCTAssertEqual(lines.first, "predicted,p0,p1,p2")
        XCTAssertEqual(lines.count, 6)

        // The labelled training file, its label column named: the same predictions as nn eval's.
        let viaPredict = scratch.file("p.csv"), viaEval = scratch.file("e.csv")
        try succeed(["predict", "--model", out + "/best", "--data", train, "--label-column", "-1", "--out", viaPredict])
        try succeed(["eval", "--model", out + "/best", "--data", train, "--predictions", viaEval])
        let predictRows = try String(contentsOfFile: viaPredict, encoding: .utf8).split(separator: "\n").dropFirst()
        let evalRows = try String(contentsOfFile: viaEval, encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(predictRows.count, 90)
        XCTAssertEqual(predictRows.map(String.init), evalRows.map { String($0.drop { $0 != "," }.dropFirst()) },
                       "predict writes what eval writes, less the label column")
        try fails(["predict", "--model", out + "/best", "--data", train], status: 1,
                  mentioning: ["4 features per sample but the model takes 3", "--label-column"])

        // A .npy array of features.
        let values: [Float] = [2.5, 0.1, 0.2, 0.1, 2.6, 0.3]
        let npy = try scratch.write("x.npy", Fixture.npy(descr: "<f4", shape: [2, 3], payload: Fixture.float32LE(values)))
        let fromArray = try succeed(["predict", "--model", out + "/best", "--data", npy])
        XCTAssertEqual(fromArray.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] }, ["0", "1"])
        try fails(["predict", "--model", out + "/best", "--data", npy, "--label-column", "0"], status: 1,
                  mentioning: ["--label-column reads CSV files", "this is an .npy array", "drop it"])
        try fails(["predict", "--model", out + "/best", "--data", unlabelled, "--out", scratch.file("missing/p.csv")],
                  status: 2, mentioning: ["does not exist"])
        try fails(["eval", "--model", out + "/best", "--data", train, "--predictions", scratch.file("missing/e.csv")],
                  status: 2, mentioning: ["--predictions", "does not exist"])
    }

    /// `--delimiter` reads semicolon-separated files; integer labels that skip class 0 warn.
    func testDelimiterAndAWarningForAnUnusedClass() throws {
        let semicolons = try scratch.write("semi.csv", text: table(rows: 60, seed: 6, delimiter: ";") { String($0 + 1) })
        let r = try succeed(["train", "--data", semicolons, "--delimiter", ";", "--layers", "4", "--epochs", "1",
                             "--dev-size", "10", "--out", scratch.file("run")])
        XCTAssertTrue(r.stdout.contains("warning: semi.csv train has no samples of class 0 of 0…3"), r.stdout)
        let model = try SafeTensors.read(path: scratch.file("run/best/model.safetensors"))
        XCTAssertNil(model.metadata[ModelCheckpoint.Key.classNames], "integer labels have no names")
        try fails(["train", "--data", semicolons, "--layers", "4", "--epochs", "1", "--out", scratch.file("comma")], status: 1,
                  mentioning: ["1 column", "delimiter"])
        try fails(["train", "--data", semicolons, "--delimiter", "ab"], status: 2, mentioning: ["--delimiter"])
    }
}
