import NNCore

/// An n-dimensional array read from a file (IDX, `.npy`), its values widened or narrowed to Float.
///
/// Loaders read files into this neutral form first; ``DatasetAssembly`` then turns a features array and
/// a labels array into a `Dataset`, so the checks on shapes and labels are written once for all formats.
public struct NumericArray: Sendable, Equatable {
    /// Dimensions, outermost first (C order).
    public var shape: [Int]
    /// Every element in C (row-major) order.
    public var values: [Float]
    /// True when the source stored integers, so labels can be taken from it without checks on fractions.
    public var isIntegral: Bool

    /// An array of `shape` (C order) holding `values`.
    public init(shape: [Int], values: [Float], isIntegral: Bool) {
        self.shape = shape
        self.values = values
        self.isIntegral = isIntegral
    }

    /// The number of samples: the first dimension (1 for a scalar).
    public var sampleCount: Int { shape.first ?? 1 }

    /// Values per sample: the product of the remaining dimensions (28×28 images flatten to 784).
    public var sampleWidth: Int { shape.dropFirst().reduce(1, *) }

    /// Whether each sample is itself an array (samples × height × width …): images, whose values
    /// share one unit, rather than rows of a table whose columns may not.
    public var holdsImages: Bool { shape.count >= 3 }

    /// Product of dimensions, or nil when it overflows `Int` (a corrupt header).
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            count = product
        }
        return count
    }
}
