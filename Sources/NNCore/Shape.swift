/// The shape of a dense tensor: a row-major matrix with samples as rows.
///
/// Dense networks only ever need matrices (a batch of activations, a weight matrix) and
/// vectors (a bias, batch-norm's γ and β, a column of labels), so the library keeps to rank 2:
/// a vector of n values is `Shape(1, n)`. That keeps every op's shape rule one line long.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
    public let rows: Int
    public let columns: Int

    public init(_ rows: Int, _ columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    /// A row vector of `count` values.
    public static func vector(_ count: Int) -> Shape { Shape(1, count) }

    /// A single value, as losses and penalties are returned.
    public static let scalar = Shape(1, 1)

    public var count: Int { rows * columns }

    public var description: String { "\(rows)×\(columns)" }
}
