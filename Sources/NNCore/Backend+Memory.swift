/// Memory: allocation, transfers and synchronisation.
///
/// Implement the `unchecked…` hooks; call ``Backend/makeTensor(_:)``, `upload(_:to:)`, … instead.
public protocol MemoryOps: AnyObject, Sendable {
    /// A new tensor, every element zero. The shape is non-empty and indexable with Int32.
    func uncheckedMakeTensor(_ shape: Shape) throws -> Tensor
    /// One value per element of a tensor this backend made.
    func uncheckedUpload(_ values: [Float], to tensor: Tensor) throws
    func uncheckedDownload(_ tensor: Tensor) throws -> [Float]
    /// Double-precision transfer; a float32 backend rounds on upload and widens on download.
    func uncheckedUpload(_ values: [Double], to tensor: Tensor) throws
    func uncheckedDownloadDouble(_ tensor: Tensor) throws -> [Double]
    /// Blocks until every op issued so far has finished. It has no operands, so it is no hook:
    /// callers call it directly.
    func synchronize() throws
}

extension Backend {
    /// A new tensor, every element zero.
    public func makeTensor(_ shape: Shape) throws -> Tensor {
        try OpCheck.makeTensor(shape)
        return try uncheckedMakeTensor(shape)
    }

    /// Copies `values` into `tensor`. The array is the caller's again when this returns; ops queued
    /// after it see the values. A backend may return before the device has them (the OpenCL backend
    /// does, so that a training loop prepares its next batch while the device computes).
    public func upload(_ values: [Float], to tensor: Tensor) throws {
        try OpCheck.upload(valueCount: values.count, to: tensor, on: self)
        try uncheckedUpload(values, to: tensor)
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        try OpCheck.download(tensor, on: self)
        return try uncheckedDownload(tensor)
    }

    /// Double-precision transfer; a float32 backend rounds on upload and widens on download.
    public func upload(_ values: [Double], to tensor: Tensor) throws {
        try OpCheck.upload(valueCount: values.count, to: tensor, on: self)
        try uncheckedUpload(values, to: tensor)
    }

    public func downloadDouble(_ tensor: Tensor) throws -> [Double] {
        try OpCheck.download(tensor, on: self)
        return try uncheckedDownloadDouble(tensor)
    }
}
