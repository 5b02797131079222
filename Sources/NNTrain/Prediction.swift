import NNCore

/// One sample's prediction: the arg-max class (the first on ties) and every class's probability.
public struct Prediction: Sendable, Equatable {
    /// The predicted class, in `0..<classes`.
    public var classIndex: Int
    /// The class's name, when the model was trained on text labels.
    public var className: String?
    /// One probability per class, in class order; they sum to 1 up to rounding.
    public var probabilities: [Float]

    /// Creates a prediction from its class and probabilities.
    public init(classIndex: Int, className: String?, probabilities: [Float]) {
        self.classIndex = classIndex
        self.className = className
        self.probabilities = probabilities
    }

    /// The class's name when the model has names, else its index as text ("3").
    public var label: String { className ?? String(classIndex) }
}

/// The predictions for a batch of samples, one ``Prediction`` per input row, in input order.
///
/// It is a collection of ``Prediction``s, so `predictions[0].classIndex`, `predictions.count` and
/// `predictions.map(\.label)` work as on an array; the whole-batch views (``probabilities``,
/// ``classIndices``, ``labels``) avoid walking it by hand.
public struct Predictions: Sendable, Equatable, RandomAccessCollection {
    /// Number of classes (the width of every probability row).
    public let classCount: Int
    /// The model's class names in class order, when it was trained on text labels.
    public let classNames: [String]?
    /// The predicted class of each sample (arg-max; the first on ties).
    public let classIndices: [Int]
    /// Probabilities, row-major (samples × classes), as ``Network/predictProbabilities(_:batchSize:)``
    /// returns them.
    public let flatProbabilities: [Float]

    /// Wraps row-major probabilities (samples × `classCount`) and picks each row's arg-max.
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` when `classCount` is below 1, the values do
    ///   not split into rows of `classCount`, or `classNames` does not hold one name per class.
    public init(flatProbabilities: [Float], classCount: Int, classNames: [String]? = nil) throws {
        guard classCount >= 1, flatProbabilities.count % classCount == 0 else {
            throw NNError.invalidArgument(
                op: "Predictions",
                detail: "\(flatProbabilities.count) probabilities do not split into rows of \(classCount) classes")
        }
        if let classNames, classNames.count != classCount {
            throw NNError.invalidArgument(
                op: "Predictions", detail: "\(classNames.count) class names for \(classCount) classes; give one name per class")
        }
        self.classCount = classCount
        self.classNames = classNames
        self.flatProbabilities = flatProbabilities
        classIndices = stride(from: 0, to: flatProbabilities.count, by: classCount).map { start in
            var best = 0
            for j in 1..<classCount where flatProbabilities[start + j] > flatProbabilities[start + best] { best = j }
            return best
        }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { classIndices.count }

    /// The prediction for sample `index`.
    public subscript(index: Int) -> Prediction {
        let start = index * classCount
        let best = classIndices[index]
        return Prediction(classIndex: best, className: classNames?[best],
                          probabilities: Array(flatProbabilities[start..<(start + classCount)]))
    }

    /// One row of class probabilities per sample.
    public var probabilities: [[Float]] {
        (0..<count).map { Array(flatProbabilities[($0 * classCount)..<(($0 + 1) * classCount)]) }
    }

    /// Each sample's predicted class name, or its index as text when the model has no names.
    public var labels: [String] {
        classIndices.map { classNames?[$0] ?? String($0) }
    }

    /// The fraction of samples whose predicted class equals `labels` (in `0..<classCount`).
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` when the counts differ or there are none.
    public func accuracy(against labels: [Int32]) throws -> Double {
        guard labels.count == count, count > 0 else {
            throw NNError.invalidArgument(
                op: "Predictions.accuracy", detail: "\(labels.count) labels for \(count) predictions; give one label per prediction")
        }
        let correct = zip(classIndices, labels).filter { $0 == Int($1) }.count
        return Double(correct) / Double(count)
    }
}

extension Network {
    /// Predictions for samples given as rows of raw features, in the scale the network was trained
    /// on: the network's ``normalizer`` is applied here, and the network runs in evaluation mode
    /// (dropout off, batch norm on its running statistics).
    ///
    /// Rows go through the network `batchSize` at a time, so a large input never becomes one large
    /// tensor. An empty input gives empty predictions.
    ///
    /// ```swift
    /// let predictions = try network.predict([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
    /// print(predictions.labels, predictions.probabilities)
    /// ```
    ///
    /// - Throws: `NNError.invalidData(source:detail:)` naming the first row whose length is not the
    ///   network's input width, or the row and column of the first NaN or infinite feature;
    ///   `NNError.invalidArgument(op:detail:)` for a batch size below 1.
    public func predict(_ rows: [[Float]], batchSize: Int = 1024) throws -> Predictions {
        try checkPredictionBatchSize(batchSize)
        let width = spec.inputWidth
        for (index, row) in rows.enumerated() {
            guard row.count == width else {
                throw NNError.invalidData(
                    source: "predict", detail: "row \(index) has \(row.count) features but the network takes \(width)")
            }
            if let column = row.firstIndex(where: { !$0.isFinite }) {
                throw NNError.invalidData(
                    source: "predict",
                    detail: "feature \(row[column]) in row \(index), column \(column) is not finite; remove or impute missing values first")
            }
        }
        var probabilities: [Float] = []
        probabilities.reserveCapacity(rows.count * spec.classes)
        for start in stride(from: 0, to: rows.count, by: batchSize) {
            let chunk = rows[start..<min(start + batchSize, rows.count)]
            var features: [Float] = []
            features.reserveCapacity(chunk.count * width)
            for row in chunk { features += row }
            let data = try Dataset(unlabelledFeatures: features, width: width, classes: spec.classes, name: "predict")
            probabilities += try predictProbabilities(data, batchSize: batchSize)
        }
        return try Predictions(flatProbabilities: probabilities, classCount: spec.classes, classNames: classNames)
    }

    /// Predictions for a features-only data set, batched, normalised and in evaluation mode like
    /// the predictions from an array of rows.
    ///
    /// - Throws: `NNError.invalidData(source:detail:)` when the rows' width is not the network's.
    public func predict(_ features: FeatureRows, batchSize: Int = 1024) throws -> Predictions {
        try checkPredictionBatchSize(batchSize)
        try features.check(fits: self)
        var probabilities: [Float] = []
        probabilities.reserveCapacity(features.count * spec.classes)
        for start in stride(from: 0, to: features.count, by: batchSize) {
            let end = min(start + batchSize, features.count)
            let data = try features.rows(start..<end).dataset(classes: spec.classes)
            probabilities += try predictProbabilities(data, batchSize: batchSize)
        }
        return try Predictions(flatProbabilities: probabilities, classCount: spec.classes, classNames: classNames)
    }

    /// Predictions for the samples of a labelled data set (its labels are ignored; compare them with
    /// ``Predictions/accuracy(against:)`` or use ``evaluate(_:batchSize:)``).
    public func predict(_ data: Dataset, batchSize: Int = 1024) throws -> Predictions {
        try Predictions(flatProbabilities: try predictProbabilities(data, batchSize: batchSize), classCount: spec.classes,
                        classNames: classNames)
    }

    /// Splits row-major probabilities (samples × classes, as ``predictProbabilities(_:batchSize:)``
    /// returns them) into one ``Prediction`` per sample, named by ``classNames`` when the model has them.
    public func predictions(fromProbabilities p: [Float]) -> [Prediction] {
        let c = spec.classes
        return stride(from: 0, to: p.count - c + 1, by: c).map { start in
            let row = Array(p[start..<(start + c)])
            var best = 0
            for j in 1..<c where row[j] > row[best] { best = j }
            return Prediction(classIndex: best, className: classNames?[best], probabilities: row)
        }
    }

    private func checkPredictionBatchSize(_ batchSize: Int) throws {
        guard batchSize >= 1 else {
            throw NNError.invalidArgument(op: "predict", detail: "batch size \(batchSize) must be at least 1")
        }
    }
}
