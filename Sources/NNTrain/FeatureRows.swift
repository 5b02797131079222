import NNCore

/// A features-only data set: `count` samples of `width` raw features, row-major, with no labels —
/// what a model predicts on once it is trained.
///
/// Construction validates what prediction relies on, and names the first problem's row and column.
/// ``Network/predict(_:batchSize:)-(FeatureRows,_)`` takes it directly; ``dataset(classes:)`` turns it
/// into a `Dataset` for the methods that take one (``Network/predictProbabilities(_:batchSize:)``,
/// ``Network/predictClasses(_:batchSize:)``).
public struct FeatureRows: Sendable, Equatable {
    /// Row-major features, `count × width`.
    public let features: [Float]
    /// Features per sample.
    public let width: Int
    /// A human-readable name for messages.
    public var name: String

    /// Number of samples.
    public var count: Int { features.count / width }
    /// Whether there are no samples.
    public var isEmpty: Bool { features.isEmpty }

    /// Rows given as arrays, all of one width.
    ///
    /// - Throws: `NNError.invalidData(source:detail:)` for no rows, an empty first row, a row whose
    ///   width differs from the first's, or a NaN or infinite feature (with its row and column).
    public init(_ rows: [[Float]], name: String = "features") throws {
        guard let first = rows.first, !first.isEmpty else {
            throw NNError.invalidData(
                source: name, detail: rows.isEmpty ? "no rows given; pass at least one row of features" : "row 0 has no features")
        }
        var flat: [Float] = []
        flat.reserveCapacity(rows.count * first.count)
        for (index, row) in rows.enumerated() {
            guard row.count == first.count else {
                throw NNError.invalidData(
                    source: name, detail: "row \(index) has \(row.count) features but row 0 has \(first.count); every row needs the same width")
            }
            flat += row
        }
        try self.init(features: flat, width: first.count, name: name)
    }

    /// Row-major features, `features.count / width` rows.
    ///
    /// - Throws: `NNError.invalidData(source:detail:)` for a width below 1, a count that is not a
    ///   multiple of it, or a NaN or infinite feature (with its row and column).
    public init(features: [Float], width: Int, name: String = "features") throws {
        guard width >= 1, features.count % width == 0 else {
            throw NNError.invalidData(
                source: name, detail: "\(features.count) feature values do not split into rows of \(width); every row needs \(width) features")
        }
        if let index = features.firstIndex(where: { !$0.isFinite }) {
            throw NNError.invalidData(
                source: name,
                detail: "feature \(features[index]) in row \(index / width), column \(index % width) is not finite; remove or impute missing values first")
        }
        self.features = features
        self.width = width
        self.name = name
    }

    /// The features of a labelled data set, without its labels.
    public init(_ data: Dataset) {
        features = data.features
        width = data.width
        name = data.name
    }

    private init(unchecked features: [Float], width: Int, name: String) {
        self.features = features
        self.width = width
        self.name = name
    }

    /// The features of sample `row`.
    public func row(_ row: Int) -> ArraySlice<Float> {
        features[(row * width)..<((row + 1) * width)]
    }

    /// The samples in `range`, already validated.
    public func rows(_ range: Range<Int>) -> FeatureRows {
        FeatureRows(unchecked: Array(features[(range.lowerBound * width)..<(range.upperBound * width)]), width: width, name: name)
    }

    /// These rows as a `Dataset` for a `classes`-class model, for the methods that take one. Its
    /// labels are all 0 and mean nothing: use it to predict, never to evaluate or train.
    ///
    /// - Throws: `NNError.invalidData(source:detail:)` when `classes` is below 2.
    public func dataset(classes: Int) throws -> Dataset {
        try Dataset(unlabelledFeatures: features, width: width, classes: classes, name: name)
    }

    /// - Throws: `NNError.invalidData(source:detail:)` when the rows' width is not the network's.
    func check(fits network: Network) throws {
        guard width == network.spec.inputWidth else {
            throw NNError.invalidData(
                source: name, detail: "rows have \(width) features but the network takes \(network.spec.inputWidth)")
        }
    }
}
