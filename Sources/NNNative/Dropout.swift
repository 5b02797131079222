import NNCore

/// Inverted dropout with NNCore's Philox stream: the mask matches the OpenCL backend bit for bit.
extension NativeBackend {
    public func uncheckedDropoutForward(_ x: Tensor, keepProbability: Float, seed: UInt64, offset: UInt64,
                                        mask: Tensor, output y: Tensor) throws {
        switch precision {
        case .float32: try dropout(Float.self, x, keepProbability, seed, offset, mask, y)
        case .float64: try dropout(Double.self, x, keepProbability, seed, offset, mask, y)
        }
    }

    private func dropout<T: NativeScalar>(_: T.Type, _ x: Tensor, _ keep: Float, _ seed: UInt64, _ offset: UInt64,
                                          _ mask: Tensor, _ y: Tensor) throws {
        let op = "dropoutForward"
        let xp = SendablePointer(try pointer(x, T.self, op))
        let mp = SendablePointer(try pointer(mask, T.self, op))
        let yp = SendablePointer(try pointer(y, T.self, op))
        // The scale is formed in Float, as the OpenCL kernel does, so float32 masks agree exactly.
        let kept = T(1 / keep)
        let key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        // Ranges start on multiples of 4 so each Philox block (4 words) is computed once, by one thread.
        splitter.forEachRange(x.count, costPerItem: 8, granularity: 4) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                // Same as Philox.uniform(seed:offset:index:) for indices i..<i+4, one block per four.
                let counter = offset &+ UInt64(i / 4)
                let words = Philox.block(counter: (UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32), 0, 0),
                                         key: key)
                let block = [words.0, words.1, words.2, words.3]
                for lane in 0..<min(4, range.upperBound - i) {
                    let u = Float(block[lane] >> 8) * 0x1p-24
                    let m: T = u < keep ? kept : 0
                    mp.p[i + lane] = m
                    yp.p[i + lane] = xp.p[i + lane] * m
                }
                i += 4
            }
        }
    }
}
