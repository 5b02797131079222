/// Element-wise ops and activations.
///
/// Implement the `unchecked…` hooks; call ``Backend/fill(_:with:)``, ``Backend/axpy(alpha:_:_:)``, … instead.
public protocol ElementwiseOps: AnyObject, Sendable {
    func uncheckedFill(_ x: Tensor, with value: Float) throws
    func uncheckedCopy(_ from: Tensor, to: Tensor) throws
    func uncheckedScale(_ x: Tensor, by alpha: Float) throws
    func uncheckedAxpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws
    func uncheckedMultiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws
    func uncheckedActivationForward(_ activation: Activation, _ x: Tensor, into y: Tensor) throws
    func uncheckedActivationBackward(_ activation: Activation, output y: Tensor, gradOutput dy: Tensor, into dx: Tensor) throws
}

extension Backend {
    public func fill(_ x: Tensor, with value: Float) throws {
        try OpCheck.fill(x, on: self)
        try uncheckedFill(x, with: value)
    }

    /// to ← from (equal element counts).
    public func copy(_ from: Tensor, to: Tensor) throws {
        try OpCheck.copy(from, to: to, on: self)
        try uncheckedCopy(from, to: to)
    }

    /// x ← α·x
    public func scale(_ x: Tensor, by alpha: Float) throws {
        try OpCheck.scale(x, on: self)
        try uncheckedScale(x, by: alpha)
    }

    /// y ← α·x + y
    public func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        try OpCheck.axpy(x, y, on: self)
        try uncheckedAxpy(alpha: alpha, x, y)
    }

    /// out ← a ⊙ b (out may alias a or b).
    public func multiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws {
        try OpCheck.multiply(a, b, into: out, on: self)
        try uncheckedMultiply(a, b, into: out)
    }

    /// y ← f(x) (y may alias x).
    public func activationForward(_ activation: Activation, _ x: Tensor, into y: Tensor) throws {
        try OpCheck.activationForward(x, into: y, on: self)
        try uncheckedActivationForward(activation, x, into: y)
    }

    /// dx ← dy ⊙ f′, with f′ computed from the forward output y (dx may alias dy).
    public func activationBackward(_ activation: Activation, output y: Tensor, gradOutput dy: Tensor, into dx: Tensor) throws {
        try OpCheck.activationBackward(output: y, gradOutput: dy, into: dx, on: self)
        try uncheckedActivationBackward(activation, output: y, gradOutput: dy, into: dx)
    }
}
