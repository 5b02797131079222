import NNCore

/// Inverted dropout: each work-item draws one Philox block, so the mask matches NNCore's `Philox` bit for bit.
extension OpenCLBackend {
    public func uncheckedDropoutForward(_ x: Tensor, keepProbability: Float, seed: UInt64, offset: UInt64,
                                        mask: Tensor, output y: Tensor) throws {
        let op = "dropoutForward"
        let memX = try mem(x, op), memMask = try mem(mask, op), memY = try mem(y, op)
        let blocks = (x.count + 3) / 4   // one Philox block (four words) per work-item
        try locked {
            try launchFlat(.dropoutForward, [
                .buffer(memX), .buffer(memMask), .buffer(memY), .float(keepProbability), .float(1 / keepProbability),
                .uint(UInt32(truncatingIfNeeded: seed)), .uint(UInt32(truncatingIfNeeded: seed >> 32)),
                .uint(UInt32(truncatingIfNeeded: offset)), .uint(UInt32(truncatingIfNeeded: offset >> 32)),
                .int(x.count),
            ], count: blocks)
        }
    }
}
