import Foundation
import NNCore
import NNNative
import NNTrain
import XCTest

/// `nn export --pytorch`: what it writes and how it fails (exit 1 for a bad model, 2 for usage).
/// That the written module reproduces `nn eval` in real PyTorch is checked by Tests/python/test_pytorch_export.py.
final class ExportCommandTests: XCTestCase {
    /// A saved 5-input, 3-class model with batch norm and a normaliser, in `dir/model`; `metadata` adds entries.
    private func savedModel(in dir: TemporaryDirectory, metadata: [String: String] = [:],
                            head: ClassifierHead = .softmax) throws -> String {
        let backend = NativeBackend(precision: .float32, threads: 1)
        let classes = head == .sigmoid ? 2 : 3
        let spec = try NetworkSpec.mlp(inputWidth: 5, hidden: [4], classes: classes, batchNorm: true, head: head)
        let network = try Network(spec: spec, backend: backend, seed: 3)
        network.normalizer = try InputNormalizer(mean: [1, 2, 3, 4, 0.1], standardDeviation: [1, 0.5, 2, 3, 0.3])
        let folder = dir.file("model")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try ModelCheckpoint.save(network, toDirectory: folder, metadata: metadata)
        return folder
    }

    private func assertFails(_ arguments: [String], status: Int32, mentioning fragments: [String], scratch: TemporaryDirectory,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        try NNProcess.assertFails(arguments, status: status, mentioning: fragments, scratch: scratch, file: file, line: line)
    }

    func testWritesAModuleWithTheSequentialNormaliserAndClasses() throws {
        let dir = try TemporaryDirectory()
        let model = try savedModel(in: dir)
        let out = dir.file("exported.py")
        let r = try NNProcess.run(["export", "--model", model, "--pytorch", out], scratch: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("wrote \(out)"), r.stdout)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let spec = try ModelCheckpoint.describe(model).spec
        // The Sequential is the checkpoint's pytorch_module, indented into sequential().
        let body = try XCTUnwrap(spec.pytorchSource).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        XCTAssertTrue(text.contains("    return " + body.dropFirst(4)), text)
        XCTAssertTrue(text.contains("INPUT_WIDTH = 5\n"))
        XCTAssertTrue(text.contains("HEAD = \"softmax\"\n"))
        XCTAssertTrue(text.contains("CLASSES = [\"0\", \"1\", \"2\"]\n"), "without class_names the classes are numbered")
        // Normaliser values are the Float32s' exact decimals: 0.1f is 0.10000000149011612.
        XCTAssertTrue(text.contains("    1.0, 2.0, 3.0, 4.0, 0.10000000149011612,\n"), text)
        XCTAssertTrue(text.contains("    1.0, 0.5, 2.0, 3.0, 0.30000001192092896,\n"), text)
        XCTAssertTrue(text.contains("model.network.load_state_dict(load_file(path), strict=True)"))
        XCTAssertTrue(text.contains("model.eval()"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }, [],
                       "the atomic write leaves no temporary file")
    }

    func testClassNamesMetadataIsEscapedIntoPythonStrings() throws {
        let dir = try TemporaryDirectory()
        let names = #"["T-shirt/top","say \"hi\"\\n","Ünïcode ✓"]"#
        let model = try savedModel(in: dir, metadata: [ModelCheckpoint.Key.classNames: names])
        let out = dir.file("m.py")
        let r = try NNProcess.run(["export", "--model", model, "--pytorch", out], scratch: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(text.contains(#"CLASSES = ["T-shirt/top", "say \"hi\"\\n", "\u00dcn\u00efcode \u2713"]"#), text)
        XCTAssertTrue(text.allSatisfy(\.isASCII), "the module is plain ASCII whatever the metadata holds")
    }

    func testSigmoidHeadIsRecorded() throws {
        let dir = try TemporaryDirectory()
        let model = try savedModel(in: dir, head: .sigmoid)
        let out = dir.file("binary.py")
        let r = try NNProcess.run(["export", "--model", model, "--pytorch", out], scratch: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(text.contains("HEAD = \"sigmoid\"\n"))
        XCTAssertTrue(text.contains("nn.Linear(4, 1),"), "one output logit")
        XCTAssertTrue(text.contains("CLASSES = [\"0\", \"1\"]\n"))
    }

    func testUsageErrors() throws {
        let dir = try TemporaryDirectory()
        let model = try savedModel(in: dir)
        try assertFails(["export", "--model", model, "--pytorch", dir.file("no/such/folder/m.py")], status: 2,
                        mentioning: ["no/such/folder", "does not exist", "mkdir"], scratch: dir)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("no")), "a missing folder is an error, never created")
        try assertFails(["export", "--model", model, "--pytorch", dir.file("m.txt")], status: 2, mentioning: [".py file"], scratch: dir)
        try FileManager.default.createDirectory(atPath: dir.file("pkg.py"), withIntermediateDirectories: false)
        try assertFails(["export", "--model", model, "--pytorch", dir.file("pkg.py")], status: 2, mentioning: ["is a folder"], scratch: dir)
        try assertFails(["export", "--model", model], status: 2, mentioning: ["--pytorch"], scratch: dir)
    }

    func testBadModelsFailWithStatusOne() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("m.py")
        try assertFails(["export", "--model", dir.file("missing"), "--pytorch", out], status: 1, mentioning: ["missing"], scratch: dir)

        // pytorch_module is free text; one that disagrees with the architecture is refused, not pasted.
        let model = try savedModel(in: dir)
        let file = ModelCheckpoint.modelPath(for: model)
        var contents = try SafeTensors.read(path: file)
        contents.metadata[ModelCheckpoint.Key.pytorchModule] = "__import__('os').system('echo pwned')"
        try SafeTensors.write(contents.tensors, metadata: contents.metadata, to: file)
        try assertFails(["export", "--model", model, "--pytorch", out], status: 1,
                        mentioning: ["pytorch_module", "does not match"], scratch: dir)

        for (names, problem) in [(#"["a","b"]"#, "2 class names for 3 classes"), (#"{"0":"a"}"#, "not a JSON array of strings")] {
            let other = try TemporaryDirectory()
            let bad = try savedModel(in: other, metadata: [ModelCheckpoint.Key.classNames: names])
            try assertFails(["export", "--model", bad, "--pytorch", out], status: 1, mentioning: ["class_names", problem], scratch: dir)
        }

        // Tensors that do not fit the recorded architecture fail at export, not later in the user's Python.
        let fresh = try TemporaryDirectory()
        contents = try SafeTensors.read(path: ModelCheckpoint.modelPath(for: try savedModel(in: fresh)))
        contents.tensors.removeAll { $0.name == "0.weight" }
        try SafeTensors.write(contents.tensors, metadata: contents.metadata, to: file)
        try assertFails(["export", "--model", model, "--pytorch", out], status: 1, mentioning: ["0.weight"], scratch: dir)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is written for a bad model")
    }
}
