/// Backend-owned storage behind a ``Tensor``. Each backend defines its own (a Swift array,
/// an OpenCL buffer) and recognises it by downcasting; a tensor from another backend fails
/// that cast and the op throws ``NNError/foreignTensor(op:expected:found:)``.
public protocol TensorStorage: AnyObject, Sendable {
    /// Name of the backend that allocated this storage, for error messages.
    var backendName: String { get }
}

/// A matrix of Float32 values living on a backend.
///
/// `Tensor` is a reference: ops write into tensors the caller allocated (`into:`), so a
/// training step reuses its buffers instead of allocating per step. Memory is released
/// when the last reference goes (ARC), which for OpenCL releases the `cl_mem`.
public final class Tensor: Sendable, CustomStringConvertible {
    public let shape: Shape
    public let storage: any TensorStorage

    public init(shape: Shape, storage: any TensorStorage) {
        self.shape = shape
        self.storage = storage
    }

    public var count: Int { shape.count }
    public var rows: Int { shape.rows }
    public var columns: Int { shape.columns }

    /// The same storage seen with another shape of equal element count (no copy).
    public func reshaped(_ newShape: Shape) throws -> Tensor {
        guard newShape.count == shape.count else {
            throw NNError.shapeMismatch(op: "reshape", detail: "cannot view \(shape) as \(newShape): element counts differ")
        }
        return Tensor(shape: newShape, storage: storage)
    }

    public var description: String { "Tensor(\(shape), \(storage.backendName))" }
}
