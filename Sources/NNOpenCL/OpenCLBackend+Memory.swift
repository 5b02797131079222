import COpenCL
import NNCore

/// Allocation and transfers (uploads staged, downloads blocking); every op is queued in order, so
/// `synchronize` is one clFinish.
extension OpenCLBackend {
    public func uncheckedMakeTensor(_ shape: Shape) throws -> Tensor {
        return try locked {
            let buffer = try OpenCLBuffer(context: program.context, capacity: shape.count)
            var zero: Float = 0
            try OpenCLStatus.check(
                clEnqueueFillBuffer(queue, buffer.memory, &zero, MemoryLayout<Float>.size, 0,
                                    shape.count * MemoryLayout<Float>.size, 0, nil, nil),
                "clEnqueueFillBuffer")
            return Tensor(shape: shape, storage: buffer)
        }
    }

    /// Returns once the values are copied, usually before the device has them (see `UploadStaging`);
    /// ops queued after it see them, as with every op.
    public func uncheckedUpload(_ values: [Float], to tensor: Tensor) throws {
        let target = try mem(tensor, "upload")
        try locked {
            try values.withUnsafeBytes { bytes in
                if try staging.enqueueWrite(bytes, to: target) { return }
                // Blocking: the caller's array may be gone as soon as this returns.
                try OpenCLStatus.check(
                    clEnqueueWriteBuffer(queue, target, cl_bool(CL_TRUE), 0, bytes.count, bytes.baseAddress, 0, nil, nil),
                    "clEnqueueWriteBuffer")
            }
        }
    }

    public func uncheckedDownload(_ tensor: Tensor) throws -> [Float] {
        let source = try mem(tensor, "download")
        return try locked {
            var values = [Float](repeating: 0, count: tensor.count)
            try values.withUnsafeMutableBytes { bytes in
                try OpenCLStatus.check(
                    clEnqueueReadBuffer(queue, source, cl_bool(CL_TRUE), 0, bytes.count, bytes.baseAddress, 0, nil, nil),
                    "clEnqueueReadBuffer")
            }
            return values
        }
    }

    public func uncheckedUpload(_ values: [Double], to tensor: Tensor) throws {
        try uncheckedUpload(values.map { Float($0) }, to: tensor)
    }

    public func uncheckedDownloadDouble(_ tensor: Tensor) throws -> [Double] {
        try uncheckedDownload(tensor).map { Double($0) }
    }

    public func synchronize() throws {
        try locked { try OpenCLStatus.check(clFinish(queue), "clFinish") }
    }
}
