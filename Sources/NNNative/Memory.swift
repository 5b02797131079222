import NNCore

/// Memory: host memory as tensors (64-byte aligned), transfers as copies, nothing to wait for.
extension NativeBackend {
    public func uncheckedMakeTensor(_ shape: Shape) throws -> Tensor {
        switch precision {
        case .float32: return Tensor(shape: shape, storage: NativeBuffer<Float>(count: shape.count))
        case .float64: return Tensor(shape: shape, storage: NativeBuffer<Double>(count: shape.count))
        }
    }

    public func uncheckedUpload(_ values: [Float], to tensor: Tensor) throws {
        switch precision {
        case .float32:
            let p = try pointer(tensor, Float.self, "upload")
            values.withUnsafeBufferPointer { src in p.update(from: src.baseAddress!, count: src.count) }
        case .float64:
            let p = try pointer(tensor, Double.self, "upload")
            for i in values.indices { p[i] = Double(values[i]) }
        }
    }

    public func uncheckedUpload(_ values: [Double], to tensor: Tensor) throws {
        switch precision {
        case .float32:
            let p = try pointer(tensor, Float.self, "upload")
            for i in values.indices { p[i] = Float(values[i]) }
        case .float64:
            let p = try pointer(tensor, Double.self, "upload")
            values.withUnsafeBufferPointer { src in p.update(from: src.baseAddress!, count: src.count) }
        }
    }

    public func uncheckedDownload(_ tensor: Tensor) throws -> [Float] {
        switch precision {
        case .float32:
            let p = try pointer(tensor, Float.self, "download")
            return Array(UnsafeBufferPointer(start: p, count: tensor.count))
        case .float64:
            let p = try pointer(tensor, Double.self, "download")
            return (0..<tensor.count).map { Float(p[$0]) }
        }
    }

    public func uncheckedDownloadDouble(_ tensor: Tensor) throws -> [Double] {
        switch precision {
        case .float32:
            let p = try pointer(tensor, Float.self, "download")
            return (0..<tensor.count).map { Double(p[$0]) }
        case .float64:
            let p = try pointer(tensor, Double.self, "download")
            return Array(UnsafeBufferPointer(start: p, count: tensor.count))
        }
    }

    /// Every op runs to completion before it returns.
    public func synchronize() throws {}
}
