/// How the row and column ops (softmax, the classifier heads, batch normalisation) map onto work-items.
///
/// Both families compute the same values with the same numerics (max-shifted softmax, two-pass
/// Kahan-compensated batch statistics); they differ in what suits the hardware:
public enum MemoryKernelFamily: String, Sendable, Codable, CaseIterable {
    /// One work-item per row (softmax) or per 64-feature column block over all rows (batch norm), in
    /// explicit float16 vectors, each op one kernel whose later passes re-read from cache. For CPU
    /// drivers, which run a work-group as a loop and do not vectorise across work-items that loop.
    case vector
    /// Work-groups sharing rows through local memory (softmax) and row chunks with a second combining
    /// pass (batch norm): the parallelism a GPU needs.
    case workGroup

    /// ``vector`` on CPU devices, ``workGroup`` elsewhere.
    public static func defaults(for device: OpenCLDeviceInfo) -> MemoryKernelFamily {
        device.type == .cpu ? .vector : .workGroup
    }
}
