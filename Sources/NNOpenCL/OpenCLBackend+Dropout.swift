import NNCore

/// Inverted dropout: each Philox block (four elements) is drawn by one work-item, so the mask matches NNCore's
/// `Philox` bit for bit in either shape (the GPU shape's items loop over blocks with a grid stride).
extension OpenCLBackend {
    public func uncheckedDropoutForward(_ x: Tensor, keepProbability: Float, seed: UInt64, offset: UInt64,
                                        mask: Tensor, output y: Tensor) throws {
        let op = "dropoutForward"
        let memX = try mem(x, op), memMask = try mem(mask, op), memY = try mem(y, op)
        let blocks = (x.count + 3) / 4   // one Philox block (four words) per work-item
        let arguments: InlineArray<10, KernelArgument> = [
            .buffer(memX), .buffer(memMask), .buffer(memY), .float(keepProbability), .float(1 / keepProbability),
            .uint(UInt32(truncatingIfNeeded: seed)), .uint(UInt32(truncatingIfNeeded: seed >> 32)),
            .uint(UInt32(truncatingIfNeeded: offset)), .uint(UInt32(truncatingIfNeeded: offset >> 32)),
            .int(x.count),
        ]
        try locked {
            if memoryKernels == .workGroup {
                try launchGridStride(.dropoutForwardV4, arguments, items: blocks)
            } else {
                try launchFlat(.dropoutForward, arguments, count: blocks)
            }
        }
    }
}
