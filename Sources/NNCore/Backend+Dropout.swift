/// Dropout.
///
/// Implement the `unchecked…` hook; call ``Backend/dropoutForward(_:keepProbability:seed:offset:mask:output:)`` instead.
public protocol DropoutOps: AnyObject, Sendable {
    func uncheckedDropoutForward(_ x: Tensor, keepProbability: Float, seed: UInt64, offset: UInt64,
                                 mask: Tensor, output y: Tensor) throws
}

extension Backend {
    /// Inverted dropout: mask[i] ← (u_i < keep) ? 1/keep : 0 with u_i = ``Philox/uniform(seed:offset:index:)``,
    /// and y ← x ⊙ mask. Every backend draws the identical mask from the same seed and offset.
    /// Backward is `multiply(dy, mask, into: dx)`.
    public func dropoutForward(_ x: Tensor, keepProbability: Float, seed: UInt64, offset: UInt64,
                               mask: Tensor, output y: Tensor) throws {
        try OpCheck.dropoutForward(x, keepProbability: keepProbability, mask: mask, output: y, on: self)
        try uncheckedDropoutForward(x, keepProbability: keepProbability, seed: seed, offset: offset, mask: mask, output: y)
    }
}
