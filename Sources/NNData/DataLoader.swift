import Foundation
import NNCore

/// Training data and, when the source has one, its own test set.
public struct DataSplits: Sendable {
    /// The training set (split a dev set off it yourself).
    public var train: Dataset
    /// The test set, when the source has one or a test file was given.
    public var test: Dataset?
    /// Whether the features are image pixels, all in one unit: the built-in sets, IDX files, and
    /// `.npy`/`.npz` arrays of rank 3 or more (samples × height × width …). CSV tables and rank-2
    /// arrays may mix units, so they are not. `nn train` standardises images with one μ and σ.
    public var isImageData: Bool

    /// Splits with `isImageData` deciding ``suggestedNormalization``.
    public init(train: Dataset, test: Dataset?, isImageData: Bool) {
        self.train = train
        self.test = test
        self.isImageData = isImageData
    }

    /// The normalisation that suits these features: one μ and σ for images, the course's
    /// per-feature standardisation otherwise (see `InputNormalization` in NNTrain).
    public var suggestedNormalization: InputNormalization { isImageData ? .global : .perFeature }
}

/// How to read a data source given on the command line.
///
/// Some options belong to one format (`csv` to CSV files, `labelsPath` to `.npy` and IDX features,
/// the `npz` keys to `.npz` archives): the loaders refuse one that the source's format would not
/// read, rather than ignore it. A built-in set's class count must match `classes` when that is given.
public struct DataLoadOptions: Sendable {
    /// CSV layout (label column, header, delimiter).
    public var csv: CSVOptions
    /// The class count; nil infers it from the training labels.
    public var classes: Int?
    /// A labels file for a features-only source (`.npy`, an IDX images file).
    public var labelsPath: String?
    /// A separate test file, in the same format as the training source.
    public var testPath: String?
    /// Array names inside an `.npz` archive; nil tries the usual names.
    public var npzFeatureKey: String?
    /// The `.npz` member holding the labels (default: found by name).
    public var npzLabelKey: String?
    /// The classes text labels must come from, in class order (a model's, when evaluating it);
    /// nil numbers the distinct text labels of the training file in sorted order.
    public var classNames: [String]?

    /// Options for ``DataLoader/load(_:options:)``; every one has a default.
    public init(csv: CSVOptions = CSVOptions(), classes: Int? = nil, labelsPath: String? = nil, testPath: String? = nil,
                npzFeatureKey: String? = nil, npzLabelKey: String? = nil, classNames: [String]? = nil) {
        self.csv = csv
        self.classes = classes
        self.classNames = classNames
        self.labelsPath = labelsPath
        self.testPath = testPath
        self.npzFeatureKey = npzFeatureKey
        self.npzLabelKey = npzLabelKey
    }
}

/// Loads a data set named on the command line: a built-in name (`fashion-mnist`, `mnist`, `digits`),
/// or a path to a CSV (`.csv`, `.csv.gz`, `.tsv`), `.npy` (with a labels file), `.npz`, IDX file, or a
/// directory of IDX files in the MNIST layout.
public enum DataLoader {
    /// Loads a named data set (`fashion-mnist`, `mnist`, `digits`) or a file or folder by path
    /// (CSV, IDX, `.npy` with ``DataLoadOptions/labelsPath``, `.npz`).
    public static func load(_ source: String, options: DataLoadOptions = DataLoadOptions()) throws -> DataSplits {
        if let named = NamedDataset(rawValue: source.lowercased()) {
            if let testPath = options.testPath {
                throw NNError.invalidData(source: testPath, detail: "\(named.rawValue) has its own test split; drop --test-data")
            }
            try refuseOptionsNotRead(by: .builtIn, options, source: named.rawValue)
            let splits = try named.load()
            if let classes = options.classes, classes != splits.train.classes {
                throw NNError.invalidData(
                    source: named.rawValue,
                    detail: "has \(splits.train.classes) classes, not \(classes) (--classes, or the model's class count when evaluating); "
                        + "drop --classes, or evaluate a model trained on \(named.rawValue)")
            }
            return splits
        }
        guard FileManager.default.fileExists(atPath: source) else {
            let names = NamedDataset.allCases.map(\.rawValue).joined(separator: ", ")
            throw NNError.invalidData(
                source: source, detail: "no such file or directory, and not a built-in data set (\(names))")
        }
        let format = SourceFormat(path: source), testFormat = options.testPath.map(SourceFormat.init(path:))
        try refuseOptionsNotRead(by: format, options, testFormat: testFormat, source: source)
        var train = try loadFile(source, format: format, labelsPath: options.labelsPath, options: options, classes: options.classes,
                                 classNames: options.classNames, role: "train")
        var test = train.test
        if let testPath = options.testPath, let testFormat {
            guard train.test == nil else {
                throw NNError.invalidData(source: testPath, detail: "\(source) already contains a test set; drop --test-data")
            }
            test = try loadFile(testPath, format: testFormat, labelsPath: nil, options: options, classes: train.train.classes,
                                classNames: train.train.classNames, role: "test").train
        }
        if let t = test, t.width != train.train.width {
            throw NNError.invalidData(
                source: options.testPath ?? source,
                detail: "test samples have \(t.width) features but training samples have \(train.train.width)")
        }
        train.test = test
        return train
    }

    private static func loadFile(_ path: String, format: SourceFormat, labelsPath: String?, options: DataLoadOptions, classes: Int?,
                                 classNames: [String]?, role: String) throws -> DataSplits {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let features: NumericArray
        switch format {
        case .idxFolder, .builtIn:  // (a path is never .builtIn)
            return try IDXDirectory.load(directory: path, name: name, classes: classes)
        case .csv:
            if case .none = options.csv.labelColumn {
                throw NNError.invalidData(source: path, detail: "--label-column none reads no labels, but training and evaluation need them; to predict on unlabelled data use nn predict")
            }
            let table = try CSVReader.read(path: path, options: csvOptions(for: path, options.csv))
            let set = try DatasetAssembly.make(csv: table, classes: classes, classNames: classNames, name: "\(name) \(role)", source: path)
            return DataSplits(train: set, test: nil, isImageData: false)
        case .npz:
            return try NPZDataset.load(path: path, featureKey: options.npzFeatureKey, labelKey: options.npzLabelKey,
                                       classes: classes, name: name)
        case .npy:
            features = try NPYReader.read(path: path)
        case .idxFile:
            features = try IDXReader.read(path: path)
        case .unknown:
            throw NNError.invalidData(
                source: path,
                detail: "unknown file type; use .csv/.csv.gz/.tsv, .npy (with --labels), .npz, an IDX file (with --labels), or a directory of IDX files")
        }
        guard let labelsPath else {
            throw NNError.invalidData(
                source: path, detail: "holds features only; give the labels file with --labels FILE (or, to predict on it, use nn predict)")
        }
        let labels = labelsPath.lowercased().hasSuffix(".npy")
            ? try NPYReader.read(path: labelsPath) : try IDXReader.read(path: labelsPath)
        let set = try DatasetAssembly.make(features: features, labels: labels, classes: classes, name: "\(name) \(role)",
                                           featureSource: path, labelSource: labelsPath)
        return DataSplits(train: set, test: nil, isImageData: features.holdsImages)
    }
}

extension DataLoader {
    /// The kinds of data source, told apart by path (a folder, else the file's extension), and so
    /// by the options each reads.
    enum SourceFormat {
        case builtIn, idxFolder, csv, npz, npy, idxFile, unknown

        init(path: String) {
            let lower = path.lowercased()
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                self = .idxFolder
            } else if DataLoader.isCSV(path) {
                self = .csv
            } else if lower.hasSuffix(".npz") {
                self = .npz
            } else if lower.hasSuffix(".npy") {
                self = .npy
            } else if lower.contains("idx") || lower.hasSuffix("-ubyte") || lower.hasSuffix("-ubyte.gz") {
                self = .idxFile
            } else {
                self = .unknown
            }
        }

        var name: String {
            switch self {
            case .builtIn: return "a built-in data set"
            case .idxFolder: return "a folder of IDX files"
            case .csv: return "a CSV file"
            case .npz: return "an .npz archive"
            case .npy: return "an .npy array"
            case .idxFile: return "an IDX file"
            case .unknown: return "a file of unknown type"
            }
        }
    }

    /// Refuses the options `format` does not read (CSV reading for anything but a CSV, a labels file
    /// for anything but a features file, array names for anything but an .npz): ignored without a
    /// word, they would leave the user believing they had taken effect. A separate test file
    /// (`testFormat`) is read with the same options, so one it reads is not refused; the labels file
    /// belongs to the training source alone. `defaults` are the CSV options the caller reads when none is given.
    static func refuseOptionsNotRead(by format: SourceFormat, _ options: DataLoadOptions, testFormat: SourceFormat? = nil,
                                     csvDefaults defaults: CSVOptions = CSVOptions(), source: String) throws {
        guard format != .unknown else { return }  // the loaders name the types they read instead
        let formats = [format] + (testFormat.map { [$0] } ?? [])
        let csv = formats.contains(.csv), npz = formats.contains(.npz)
        // (option, given, what reads it)
        let checks: [(String, Bool, String)] = [
            ("--label-column", !csv && options.csv.labelColumn != defaults.labelColumn, "CSV files"),
            ("--header", !csv && options.csv.header != defaults.header, "CSV files"),
            ("--delimiter", !csv && options.csv.delimiter != defaults.delimiter, "CSV files"),
            ("--labels", format != .npy && format != .idxFile && options.labelsPath != nil, "the labels of .npy or IDX features"),
            ("--npz-x", !npz && options.npzFeatureKey != nil, ".npz archives"),
            ("--npz-y", !npz && options.npzLabelKey != nil, ".npz archives"),
        ]
        let given = checks.filter(\.1)
        guard !given.isEmpty else { return }
        let reasons = given.map { "\($0.0) reads \($0.2)" }.joined(separator: "; ")
        let what = format.name + (testFormat.map { " and --test-data \($0.name)" } ?? "")
        throw NNError.invalidData(source: source, detail: "\(reasons), but this is \(what); drop \(given.count == 1 ? "it" : "them")")
    }

    /// Whether `path` names a CSV-like file (by its extension), the formats a label column applies to.
    public static func isCSV(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix(".csv") || lower.hasSuffix(".csv.gz") || lower.hasSuffix(".tsv") || lower.hasSuffix(".txt")
    }

    /// A `.tsv` file is tab-separated whatever the delimiter option says.
    static func csvOptions(for path: String, _ options: CSVOptions) -> CSVOptions {
        var csv = options
        if path.lowercased().hasSuffix(".tsv") { csv.delimiter = UInt8(ascii: "\t") }
        return csv
    }

    /// Unlabelled samples to predict on, flattened per sample: a CSV whose columns are all features
    /// (or whose label column `options.csv.labelColumn` names, to be skipped), a `.npy` array, an
    /// `.npz` array (`--npz-x`, else the usual names, else `x_test`), an IDX images file, the test
    /// images of an MNIST-layout folder, or a built-in set's test split.
    public static func loadFeatures(_ source: String, options: DataLoadOptions = DataLoadOptions()) throws -> Features {
        // What predicting reads by default: every CSV column a feature.
        let csvDefaults = CSVOptions(labelColumn: .none)
        if let named = NamedDataset(rawValue: source.lowercased()) {
            try refuseOptionsNotRead(by: .builtIn, options, csvDefaults: csvDefaults, source: named.rawValue)
            let splits = try named.load()
            let set = splits.test ?? splits.train
            return Features(values: set.features, width: set.width, name: set.name, isImageData: splits.isImageData)
        }
        guard FileManager.default.fileExists(atPath: source) else {
            throw NNError.invalidData(source: source, detail: "no such file or directory, and not a built-in data set")
        }
        let name = URL(fileURLWithPath: source).lastPathComponent
        let format = SourceFormat(path: source)
        try refuseOptionsNotRead(by: format, options, csvDefaults: csvDefaults, source: source)
        switch format {
        case .idxFolder, .builtIn:  // (a path is never .builtIn)
            guard let images = IDXDirectory.find(source, "t10k-images-idx3-ubyte") ?? IDXDirectory.find(source, "train-images-idx3-ubyte") else {
                throw NNError.invalidData(source: source, detail: "no t10k-images-idx3-ubyte[.gz] or train-images-idx3-ubyte[.gz] in this directory")
            }
            return try Features(IDXReader.read(path: images), name: URL(fileURLWithPath: images).lastPathComponent, source: images)
        case .csv:
            let table = try CSVReader.read(path: source, options: csvOptions(for: source, options.csv))
            return Features(values: table.features, width: table.width, name: name, isImageData: false)
        case .npz:
            let arrays = try NPZReader.read(path: source)
            let byName = Dictionary(arrays.map { ($0.name, $0.array) }, uniquingKeysWith: { first, _ in first })
            let candidates = options.npzFeatureKey.map { [$0] } ?? (NPZDataset.featureKeys + ["x_test"])
            guard let key = candidates.first(where: { byName[$0] != nil }), let array = byName[key] else {
                throw NNError.invalidData(
                    source: source,
                    detail: "no features array named \(candidates.joined(separator: ", ")); the archive holds: \(arrays.map(\.name).joined(separator: ", ")); choose with --npz-x NAME")
            }
            return try Features(array, name: "\(name)[\(key)]", source: "\(source)[\(key)]")
        case .npy:
            return try Features(NPYReader.read(path: source), name: name, source: source)
        case .idxFile:
            return try Features(IDXReader.read(path: source), name: name, source: source)
        case .unknown:
            throw NNError.invalidData(
                source: source, detail: "unknown file type; use .csv/.csv.gz/.tsv, .npy, .npz, an IDX images file, or a directory of IDX files")
        }
    }

    /// Samples without labels, row-major.
    public struct Features: Sendable {
        /// Row-major features, `count × width`.
        public var values: [Float]
        /// Features per sample.
        public var width: Int
        /// The source's name for messages.
        public var name: String
        /// Whether the source holds images (global normalisation suits them).
        public var isImageData: Bool

        /// Number of samples.
        public var count: Int { width > 0 ? values.count / width : 0 }

        /// Features as read.
        public init(values: [Float], width: Int, name: String, isImageData: Bool) {
            self.values = values
            self.width = width
            self.name = name
            self.isImageData = isImageData
        }

        init(_ array: NumericArray, name: String, source: String) throws {
            guard array.shape.count >= 2, array.sampleWidth >= 1 else {
                throw NNError.invalidData(
                    source: source, detail: "features have shape \(array.shape); expected samples × features (2 or more dimensions)")
            }
            if let bad = array.values.firstIndex(where: { !$0.isFinite }) {
                throw NNError.invalidData(
                    source: source, detail: "value \(array.values[bad]) of sample \(bad / array.sampleWidth) is not finite; replace missing or infinite values first")
            }
            self.init(values: array.values, width: array.sampleWidth, name: name, isImageData: array.holdsImages)
        }
    }
}

/// `.npz` archives: `x_train`/`y_train` (+ `x_test`/`y_test`) as Keras saves MNIST, or one pair such as `x`/`y`.
enum NPZDataset {
    static let featureKeys = ["x", "X", "features", "data", "images", "inputs"]
    static let labelKeys = ["y", "Y", "labels", "label", "target", "targets"]

    static func load(path: String, featureKey: String?, labelKey: String?, classes: Int?, name: String) throws -> DataSplits {
        let arrays = try NPZReader.read(path: path)
        let byName = Dictionary(arrays.map { ($0.name, $0.array) }, uniquingKeysWith: { first, _ in first })
        let available = arrays.map(\.name).joined(separator: ", ")
        func array(_ key: String) -> NumericArray? { byName[key] }

        if featureKey == nil, labelKey == nil, let xTrain = array("x_train"), let yTrain = array("y_train") {
            let train = try DatasetAssembly.make(features: xTrain, labels: yTrain, classes: classes, name: "\(name) train",
                                                 featureSource: "\(path)[x_train]", labelSource: "\(path)[y_train]")
            var test: Dataset?
            if let xTest = array("x_test"), let yTest = array("y_test") {
                test = try DatasetAssembly.make(features: xTest, labels: yTest, classes: train.classes, name: "\(name) test",
                                                featureSource: "\(path)[x_test]", labelSource: "\(path)[y_test]")
            }
            return DataSplits(train: train, test: test, isImageData: xTrain.holdsImages)
        }
        func pick(_ explicit: String?, _ candidates: [String], what: String, flag: String) throws -> (String, NumericArray) {
            if let explicit {
                guard let a = array(explicit) else {
                    throw NNError.invalidData(source: path, detail: "no array named '\(explicit)'; the archive holds: \(available)")
                }
                return (explicit, a)
            }
            for key in candidates { if let a = array(key) { return (key, a) } }
            throw NNError.invalidData(
                source: path,
                detail: "cannot tell which array holds the \(what) (looked for \(candidates.joined(separator: ", "))); the archive holds: \(available); choose with \(flag)")
        }
        let (xKey, x) = try pick(featureKey, featureKeys, what: "features", flag: "--npz-x NAME")
        let (yKey, y) = try pick(labelKey, labelKeys, what: "labels", flag: "--npz-y NAME")
        let train = try DatasetAssembly.make(features: x, labels: y, classes: classes, name: name,
                                             featureSource: "\(path)[\(xKey)]", labelSource: "\(path)[\(yKey)]")
        return DataSplits(train: train, test: nil, isImageData: x.holdsImages)
    }
}

/// A directory in the MNIST layout: train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], and
/// optionally t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz].
enum IDXDirectory {
    static func find(_ directory: String, _ stem: String) -> String? {
        for candidate in [stem, stem + ".gz"] {
            let path = (directory as NSString).appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return nil
    }

    static func hasTrainingFiles(_ directory: String) -> Bool {
        find(directory, "train-images-idx3-ubyte") != nil && find(directory, "train-labels-idx1-ubyte") != nil
    }

    static func load(directory: String, name: String, classes: Int?) throws -> DataSplits {
        guard let trainImages = find(directory, "train-images-idx3-ubyte"),
              let trainLabels = find(directory, "train-labels-idx1-ubyte") else {
            throw NNError.invalidData(
                source: directory,
                detail: "no train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] in this directory; give a data file or an MNIST-layout directory")
        }
        let images = try IDXReader.read(path: trainImages)
        let train = try DatasetAssembly.make(
            features: images, labels: IDXReader.read(path: trainLabels), classes: classes,
            name: "\(name) train", featureSource: trainImages, labelSource: trainLabels)
        var test: Dataset?
        if let testImages = find(directory, "t10k-images-idx3-ubyte"), let testLabels = find(directory, "t10k-labels-idx1-ubyte") {
            test = try DatasetAssembly.make(
                features: IDXReader.read(path: testImages), labels: IDXReader.read(path: testLabels), classes: train.classes,
                name: "\(name) test", featureSource: testImages, labelSource: testLabels)
        }
        return DataSplits(train: train, test: test, isImageData: images.holdsImages)
    }
}
