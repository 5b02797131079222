import NNCore

/// Host memory behind a native `Tensor`: `count` elements of `Scalar`, 64-byte aligned so
/// that SIMD loads of whole cache lines never straddle two.
///
/// `@unchecked Sendable`: the buffer is mutable shared memory, and the backend's contract is that
/// one backend instance (and the tensors it made) is driven by one thread at a time. The backend's
/// own worker threads write disjoint ranges and are joined before an op returns.
final class NativeBuffer<Scalar: NativeScalar>: TensorStorage, @unchecked Sendable {
    let base: UnsafeMutablePointer<Scalar>
    let count: Int

    var backendName: String { NativeBackend.backendName }

    /// Zero-filled storage for `count` elements (`count` ≥ 1; shapes are validated before this).
    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Scalar>.stride, alignment: 64)
        base = raw.initializeMemory(as: Scalar.self, repeating: 0, count: count)
    }

    deinit {
        base.deallocate()
    }
}
