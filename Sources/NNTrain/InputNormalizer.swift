import NNCore

/// Per-feature standardisation x' = (x − μ)/σ, fitted on the training set only and applied
/// unchanged to dev and test data. Part of the model: it is saved with the weights.
public struct InputNormalizer: Sendable, Codable, Equatable {
    public var mean: [Float]
    /// Standard deviations; a feature with zero variance (a constant pixel) gets 1 so it maps to 0.
    public var standardDeviation: [Float]

    public var width: Int { mean.count }

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

    /// Fits mean and (population) standard deviation per feature with a two-pass Float64 sum,
    /// accurate for any number of rows.
    public static func fit(_ data: Dataset) throws -> InputNormalizer {
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
        // Relative threshold: a feature whose spread is rounding noise around its mean counts as constant.
        let std: [Float] = (0..<w).map { j in
            let s = (squares[j] / Double(n)).squareRoot()
            return s > 1e-7 * max(1, abs(mean[j])) ? Float(s) : 1
        }
        return try InputNormalizer(mean: mean.map { Float($0) }, standardDeviation: std)
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
