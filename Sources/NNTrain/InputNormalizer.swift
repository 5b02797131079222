import NNCore

/// Standardisation x' = (x − μ)/σ, fitted on the training set only and applied unchanged to dev
/// and test data, with a μ and σ per feature (a `InputNormalization.global` fit repeats one pair).
/// Part of the model: it is saved with the weights.
public struct InputNormalizer: Sendable, Codable, Equatable {
    /// Means, one per feature.
    public var mean: [Float]
    /// Standard deviations; a feature with zero variance (a constant pixel) gets 1 so it maps to 0.
    public var standardDeviation: [Float]

    /// Features per sample.
    public var width: Int { mean.count }

    /// A normaliser from saved means and standard deviations.
    public init(mean: [Float], standardDeviation: [Float]) throws {
        guard mean.count == standardDeviation.count, !mean.isEmpty else {
            throw NNError.invalidData(
                source: "input normaliser",
                detail: "\(mean.count) means but \(standardDeviation.count) standard deviations; both need one value per feature")
        }
        if let i = standardDeviation.firstIndex(where: { !($0 > 0) || !$0.isFinite }) {
            throw NNError.invalidData(
                source: "input normaliser",
                detail: "standard deviation \(standardDeviation[i]) of feature \(i) must be positive and finite")
        }
        if let i = mean.firstIndex(where: { !$0.isFinite }) {
            throw NNError.invalidData(source: "input normaliser", detail: "mean of feature \(i) is \(mean[i])")
        }
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    private enum CodingKeys: String, CodingKey {
        case mean
        case standardDeviation
    }

    /// Decodes through ``init(mean:standardDeviation:)``, so a normaliser read from a file obeys the
    /// same rules as a fitted one (equal lengths, finite means, σ finite and > 0).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(mean: container.decode([Float].self, forKey: .mean),
                      standardDeviation: container.decode([Float].self, forKey: .standardDeviation))
    }

    /// Fits mean and (population) standard deviation per feature, or one pair over all values for
    /// `InputNormalization.global`, with a two-pass Float64 sum, accurate for any number of rows.
    /// - Returns: nil for `InputNormalization.none`.
    public static func fit(_ data: Dataset, _ normalization: InputNormalization) throws -> InputNormalizer? {
        switch normalization {
        case .none: return nil
        case .perFeature: return try fit(data)
        case .global: return try fitGlobal(data)
        }
    }

    /// Per-feature standardisation, the course's (`InputNormalization.perFeature`).
    public static func fit(_ data: Dataset) throws -> InputNormalizer {
        let (mean, variance) = try moments(data)
        return try InputNormalizer(mean: mean.map { Float($0) },
                                   standardDeviation: zip(variance, mean).map { standardDeviation($0, mean: $1) })
    }

    /// One μ and σ over every value (`InputNormalization.global`), repeated per feature.
    public static func fitGlobal(_ data: Dataset) throws -> InputNormalizer {
        let (mean, variance) = try moments(data)
        let w = Double(data.width)
        // Pooled over features with equal counts: the overall mean is the mean of the feature means,
        // the overall variance the mean within-feature variance plus the variance of the means.
        let overallMean = mean.reduce(0, +) / w
        let overallVariance = zip(mean, variance).reduce(0.0) { sum, feature in
            sum + feature.1 + (feature.0 - overallMean) * (feature.0 - overallMean)
        } / w
        return try InputNormalizer(
            mean: [Float](repeating: Float(overallMean), count: data.width),
            standardDeviation: [Float](repeating: standardDeviation(overallVariance, mean: overallMean), count: data.width))
    }

    /// Per-feature mean and population variance, each sum in Float64 over two passes.
    private static func moments(_ data: Dataset) throws -> (mean: [Double], variance: [Double]) {
        guard !data.isEmpty else {
            throw NNError.invalidData(source: data.name, detail: "cannot fit an input normaliser on an empty data set")
        }
        let w = data.width, n = data.count
        var mean = [Double](repeating: 0, count: w)
        data.features.withUnsafeBufferPointer { x in
            for r in 0..<n {
                let row = r * w
                for j in 0..<w { mean[j] += Double(x[row + j]) }
            }
        }
        for j in 0..<w { mean[j] /= Double(n) }
        var squares = [Double](repeating: 0, count: w)
        data.features.withUnsafeBufferPointer { x in
            for r in 0..<n {
                let row = r * w
                for j in 0..<w {
                    let d = Double(x[row + j]) - mean[j]
                    squares[j] += d * d
                }
            }
        }
        return (mean, squares.map { $0 / Double(n) })
    }

    /// σ, or 1 for a constant input so that it maps to 0. The threshold is relative: a spread that
    /// is rounding noise around the mean counts as constant.
    private static func standardDeviation(_ variance: Double, mean: Double) -> Float {
        let s = variance.squareRoot()
        return s > 1e-7 * max(1, abs(mean)) ? Float(s) : 1
    }

    /// Writes the normalised features of `rows` of `data` into `out` (rows.count × width).
    func gather(_ data: Dataset, rows: ArraySlice<Int>, into out: inout [Float]) {
        let w = data.width
        out.withUnsafeMutableBufferPointer { dst in
            data.features.withUnsafeBufferPointer { src in
                for (k, r) in rows.enumerated() {
                    for j in 0..<w {
                        dst[k * w + j] = (src[r * w + j] - mean[j]) / standardDeviation[j]
                    }
                }
            }
        }
    }

    /// Normalises a whole feature matrix (count × width).
    public func apply(_ features: [Float]) -> [Float] {
        var out = features
        let w = width
        for i in 0..<out.count { out[i] = (out[i] - mean[i % w]) / standardDeviation[i % w] }
        return out
    }
}
