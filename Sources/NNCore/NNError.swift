/// Every error the library throws names the operation, what was wrong, and where it helps, the fix.
public enum NNError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Operand shapes that do not fit the op's rule.
    case shapeMismatch(op: String, detail: String)
    /// A tensor with no elements where the op needs at least one.
    case emptyTensor(op: String, shape: Shape)
    /// A tensor allocated by a different backend than the one running the op.
    case foreignTensor(op: String, expected: String, found: String)
    /// A size that does not fit the 32-bit indices the kernels use.
    case sizeOverflow(op: String, detail: String)
    /// A scalar argument outside its valid range (a negative learning rate, a keep probability of 0).
    case invalidArgument(op: String, detail: String)
    /// A backend that cannot be used here: no OpenCL device, a driver that fails.
    case backendUnavailable(backend: String, reason: String)
    /// A failure inside a device runtime (an OpenCL call that returned an error code).
    case deviceFailure(call: String, detail: String)
    /// Data that cannot be read: a malformed file, labels out of range.
    case invalidData(source: String, detail: String)
    /// A loss or parameter that became NaN or infinite during training.
    case nonFinite(detail: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, detail):
            return "\(op): shape mismatch: \(detail)"
        case let .emptyTensor(op, shape):
            return "\(op): tensor of shape \(shape) is empty; every op needs at least one element"
        case let .foreignTensor(op, expected, found):
            return "\(op): tensor belongs to the \(found) backend but the op runs on \(expected); "
                + "create tensors with the backend that uses them, or copy through the host"
        case let .sizeOverflow(op, detail):
            return "\(op): size overflow: \(detail)"
        case let .invalidArgument(op, detail):
            return "\(op): invalid argument: \(detail)"
        case let .backendUnavailable(backend, reason):
            return "\(backend) backend unavailable: \(reason)"
        case let .deviceFailure(call, detail):
            return "\(call) failed: \(detail)"
        case let .invalidData(source, detail):
            return "\(source): \(detail)"
        case let .nonFinite(detail):
            return "non-finite value: \(detail)"
        }
    }
}
