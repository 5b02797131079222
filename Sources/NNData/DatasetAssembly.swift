import NNCore

/// Turns arrays read from files into validated `Dataset`s, with the checks every format shares:
/// one label per sample, labels that are class indices, a class count that covers them.
public enum DatasetAssembly {
    /// A data set from a features array (n × … samples, flattened per sample) and a labels array (n or n × 1).
    ///
    /// - Parameters:
    ///   - features: the samples, n × … values (every dimension after the first is flattened).
    ///   - labels: n class indices, as n or n × 1 values.
    ///   - classes: the class count; nil infers max(label) + 1 (at least 2).
    ///   - name: the data set's name in messages.
    ///   - featureSource: the file the features came from, named in errors about them.
    ///   - labelSource: the file the labels came from, named in errors about them.
    public static func make(features: NumericArray, labels: NumericArray, classes: Int?, name: String,
                            featureSource: String, labelSource: String) throws -> Dataset {
        guard features.shape.count >= 2 else {
            throw NNError.invalidData(
                source: featureSource,
                detail: "features have shape \(features.shape); expected samples × features (2 or more dimensions)")
        }
        guard labels.sampleWidth == 1, labels.shape.count <= 2 else {
            throw NNError.invalidData(
                source: labelSource,
                detail: "labels have shape \(labels.shape); expected one class index per sample (shape [n] or [n, 1])")
        }
        guard labels.sampleCount == features.sampleCount else {
            throw NNError.invalidData(
                source: labelSource,
                detail: "\(labels.sampleCount) labels for \(features.sampleCount) samples in \(featureSource); the two files must match")
        }
        let classIndices = try labelsAsClassIndices(labels.values, source: labelSource)
        return try make(features: features.values, labels: classIndices, width: features.sampleWidth,
                        classes: classes, name: name, source: labelSource)
    }

    /// A data set from flat features and integer labels, inferring or checking the class count.
    public static func make(features: [Float], labels: [Int32], width: Int, classes: Int?, name: String,
                            source: String, classNames: [String]? = nil) throws -> Dataset {
        let classCount = try classes ?? inferredClassCount(labels, source: source)
        if let classes, let bad = labels.firstIndex(where: { Int($0) >= classes }) {
            throw NNError.invalidData(
                source: source,
                detail: "label \(labels[bad]) of sample \(bad) is outside the class range 0..<\(classes); raise --classes or fix the labels")
        }
        return try Dataset(features: features, labels: labels, width: width, classes: classCount, name: name, classNames: classNames)
    }

    /// A data set from a CSV table. Text labels take their class numbers from `classNames` (the
    /// training set's or the model's classes) when given, else from their own sorted order; integer
    /// labels given `classNames` are indices into it.
    public static func make(csv table: CSVTable, classes: Int?, classNames: [String]?, name: String,
                            source: String) throws -> Dataset {
        var labels = table.labels
        var names = table.classNames
        if let vocabulary = classNames {
            if let own = table.classNames {
                let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, Int32($0)) })
                for (row, label) in labels.enumerated() {
                    guard let mapped = index[own[Int(label)]] else {
                        throw NNError.invalidData(
                            source: source,
                            detail: "label '\(own[Int(label)])' of sample \(row) is not one of the \(vocabulary.count) classes (\(vocabulary.joined(separator: ", "))); the data must use the classes the model was trained on")
                    }
                    labels[row] = mapped
                }
            }
            names = vocabulary
        } else if let own = table.classNames, classes != nil {
            throw NNError.invalidData(
                source: source,
                detail: "the labels are text (\(own.prefix(5).joined(separator: ", "))\(own.count > 5 ? ", …" : "")) but the classes here are "
                    + "numbered 0…\((classes ?? 2) - 1) (by the training labels, the model or --classes); use one kind of label throughout")
        }
        return try make(features: table.features, labels: labels, width: table.width, classes: names?.count ?? classes,
                        name: name, source: source, classNames: names)
    }

    /// Inferred class counts above this are almost always a wrong label column (an ID, a price), and would
    /// build an output layer of millions of units; a user who means it confirms with an explicit count.
    public static let maximumInferredClasses = 10_000

    /// max(label) + 1, at least 2 (a file whose labels happen to be all 0 is still a binary problem).
    static func inferredClassCount(_ labels: [Int32], source: String) throws -> Int {
        guard let maximum = labels.max() else {
            throw NNError.invalidData(source: source, detail: "no samples")
        }
        guard Int(maximum) < maximumInferredClasses else {
            throw NNError.invalidData(
                source: source,
                detail: "labels go up to \(maximum), which would mean \(Int(maximum) + 1) classes; check the label column (--label-column), or pass --classes to confirm")
        }
        return max(2, Int(maximum) + 1)
    }

    /// Checks that every value is a non-negative integer and converts.
    static func labelsAsClassIndices(_ values: [Float], source: String) throws -> [Int32] {
        var result = [Int32]()
        result.reserveCapacity(values.count)
        for (i, v) in values.enumerated() {
            guard v >= 0, v == v.rounded(), v < Float(Int32.max) else {
                throw NNError.invalidData(
                    source: source,
                    detail: "label \(v) of sample \(i) is not a class index; labels must be integers 0, 1, 2, …")
            }
            result.append(Int32(v))
        }
        return result
    }
}
