
/// A labelled classification data set held on the host: `count` samples of `width` features,
/// row-major (sample i occupies `features[i*width ..< (i+1)*width]`), each with a class label.
///
/// Construction validates everything the training stack relies on, so a `Dataset` that exists is
/// usable: the feature count matches, every feature is finite, every label lies in `0..<classes`.
public struct Dataset: Sendable {
    /// Row-major features, `count × width`.
    public let features: [Float]
    /// One class index per sample, in `0..<classes`.
    public let labels: [Int32]
    /// Features per sample.
    public let width: Int
    /// Number of classes the labels are drawn from (the classifier's output width).
    public let classes: Int
    /// A human-readable name for messages ("digits", "fashion-mnist train").
    public var name: String
    /// The name of each class, in class-index order, when the labels were text (a CSV label column
    /// holding "setosa", "versicolor", …); nil when the classes are plain indices.
    public private(set) var classNames: [String]?

    /// Number of samples.
    /// The most features per sample, and classes, accepted: far beyond any dense network that trains,
    /// and small enough that a layer's element counts fit an `Int` with room to spare. Networks share it.
    public static let maximumWidth = 1 << 24

    public var count: Int { labels.count }
    public var isEmpty: Bool { labels.isEmpty }

    /// Validates and wraps features and labels.
    ///
    /// - Throws: `NNError.invalidData(source:detail:)` naming the first problem: a width or class
    ///   count below 1, a feature count that is not `labels.count × width`, a label outside
    ///   `0..<classes` (with its row), or a NaN/infinite feature (with its row and column).
    public init(features: [Float], labels: [Int32], width: Int, classes: Int, name: String = "dataset",
                classNames: [String]? = nil) throws {
        guard width >= 1 else {
            throw NNError.invalidData(source: name, detail: "width \(width) must be at least 1 feature per sample")
        }
        guard classes >= 2 else {
            throw NNError.invalidData(
                source: name,
                detail: "\(classes) class(es) given; a classifier needs at least 2 (binary labels are 0 and 1 with classes = 2)")
        }
        guard width <= Self.maximumWidth, classes <= Self.maximumWidth else {
            throw NNError.invalidData(
                source: name,
                detail: "\(width) features and \(classes) classes; at most \(Self.maximumWidth) of each are supported (check --classes and the label column)")
        }
        let (expected, overflow) = labels.count.multipliedReportingOverflow(by: width)
        guard !overflow, features.count == expected else {
            throw NNError.invalidData(
                source: name,
                detail: "\(features.count) feature values for \(labels.count) labels of width \(width); expected \(labels.count) × \(width) = \(overflow ? "overflow" : String(expected))")
        }
        if let row = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
            throw NNError.invalidData(
                source: name,
                detail: "label \(labels[row]) in row \(row) is outside 0..<\(classes); labels must be class indices from 0 to \(classes - 1) (check the label column or the class count)")
        }
        if let index = features.firstIndex(where: { !$0.isFinite }) {
            throw NNError.invalidData(
                source: name,
                detail: "feature \(features[index]) in row \(index / width), column \(index % width) is not finite; remove or impute missing values first")
        }
        if let classNames {
            try Self.checkClassNames(classNames, classes: classes, source: name)
        }
        self.init(unchecked: features, labels: labels, width: width, classes: classes, name: name, classNames: classNames)
    }

    /// Features to predict on, with no labels: every label is 0, which nothing reads.
    public init(unlabelledFeatures features: [Float], width: Int, classes: Int, name: String = "dataset") throws {
        guard width >= 1, features.count % width == 0 else {
            throw NNError.invalidData(
                source: name, detail: "\(features.count) feature values do not split into rows of \(width); every row needs \(width) features")
        }
        try self.init(features: features, labels: [Int32](repeating: 0, count: features.count / width), width: width,
                      classes: classes, name: name)
    }

    /// Builds without re-validating, for subsets of data already validated.
    private init(unchecked features: [Float], labels: [Int32], width: Int, classes: Int, name: String, classNames: [String]?) {
        self.features = features
        self.labels = labels
        self.width = width
        self.classes = classes
        self.name = name
        self.classNames = classNames
    }

    /// Names must be one per class and distinct, or predictions could not be told apart.
    public static func checkClassNames(_ names: [String], classes: Int, source: String) throws {
        guard names.count == classes else {
            throw NNError.invalidData(source: source, detail: "\(names.count) class names for \(classes) classes; give one name per class")
        }
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw NNError.invalidData(source: source, detail: "class name '\(name)' appears twice; class names must be distinct")
        }
    }

    /// The features of sample `row` (no bounds check beyond the array's own).
    public func sample(_ row: Int) -> ArraySlice<Float> {
        features[row * width ..< (row + 1) * width]
    }

    /// The samples at `rows`, in that order (repeats allowed).
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` for a row outside `0..<count`.
    public func subset(rows: [Int], name: String? = nil) throws -> Dataset {
        if let bad = rows.first(where: { $0 < 0 || $0 >= count }) {
            throw NNError.invalidArgument(op: "Dataset.subset", detail: "row \(bad) is outside 0..<\(count) of \(self.name)")
        }
        var newFeatures = [Float]()
        newFeatures.reserveCapacity(rows.count * width)
        var newLabels = [Int32]()
        newLabels.reserveCapacity(rows.count)
        for r in rows {
            newFeatures.append(contentsOf: sample(r))
            newLabels.append(labels[r])
        }
        return Dataset(unchecked: newFeatures, labels: newLabels, width: width, classes: classes, name: name ?? self.name,
                       classNames: classNames)
    }

    /// Splits off `devCount` samples chosen by a seeded shuffle; the rest, in shuffled order, is
    /// the training part. The same seed always gives the same split.
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` unless `0 <= devCount <= count`.
    public func split(devCount: Int, seed: UInt64) throws -> (train: Dataset, dev: Dataset) {
        let rows = try splitRows(devCount: devCount, seed: seed)
        return (try subset(rows: rows.train, name: "\(name) train"), try subset(rows: rows.dev, name: "\(name) dev"))
    }

    /// The rows `split(devCount:seed:)` puts in each part, in the same order, without copying a
    /// sample: a caller that keeps only some training rows (`nn train --train-size`) then copies
    /// just those, instead of the whole training part first.
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` unless `0 <= devCount <= count`.
    public func splitRows(devCount: Int, seed: UInt64) throws -> (train: [Int], dev: [Int]) {
        guard devCount >= 0, devCount <= count else {
            throw NNError.invalidArgument(
                op: "Dataset.split",
                detail: "dev size \(devCount) must lie in 0...\(count) (the size of \(name))")
        }
        var generator = SeededGenerator(seed: seed)
        let order = generator.permutation(count)
        return (Array(order[devCount...]), Array(order[..<devCount]))
    }

    /// Samples per class, for summaries and for spotting a degenerate split.
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for l in labels { counts[Int(l)] += 1 }
        return counts
    }
}
