/// Philox4x32-10, the counter-based generator of Salmon et al. (SC'11), as used by cuRAND,
/// PyTorch and JAX.
///
/// A counter-based generator has no sequential state: the random word for element i is a pure
/// function of (seed, counter), so every backend — a Swift loop or an OpenCL work-item — draws the
/// identical value for the same element, in any order. `Kernels/dropout.cl` implements the same
/// function; the conformance suite checks the two agree bit for bit.
public enum Philox {
    static let m0: UInt32 = 0xD251_1F53
    static let m1: UInt32 = 0xCD9E_8D57
    static let w0: UInt32 = 0x9E37_79B9
    static let w1: UInt32 = 0xBB67_AE85

    /// Ten rounds over a 128-bit counter with a 64-bit key.
    public static func block(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
        var c = counter
        var k = key
        for round in 0..<10 {
            if round > 0 {
                k.0 &+= w0
                k.1 &+= w1
            }
            let p0 = UInt64(m0) &* UInt64(c.0)
            let p1 = UInt64(m1) &* UInt64(c.2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            c = (hi1 ^ c.1 ^ k.0, lo1, hi0 ^ c.3 ^ k.1, lo0)
        }
        return c
    }

    /// The 32-bit word for element `index` of a draw starting at `offset`.
    ///
    /// Element i uses counter `offset + i/4` (low and high halves in the first two counter words)
    /// and takes word `i % 4` of the block. Callers advance `offset` by ``blocks(for:)`` per draw
    /// so successive draws never reuse a counter.
    @inlinable
    public static func word(seed: UInt64, offset: UInt64, index: Int) -> UInt32 {
        let ctr = offset &+ UInt64(index / 4)
        let out = block(counter: (UInt32(truncatingIfNeeded: ctr), UInt32(truncatingIfNeeded: ctr >> 32), 0, 0),
                        key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        switch index % 4 {
        case 0: return out.0
        case 1: return out.1
        case 2: return out.2
        default: return out.3
        }
    }

    /// A uniform value in [0, 1) with 24 random bits: exactly representable in Float32, so the
    /// comparison against a keep probability gives the same answer on every device.
    @inlinable
    public static func uniform(seed: UInt64, offset: UInt64, index: Int) -> Float {
        Float(word(seed: seed, offset: offset, index: index) >> 8) * 0x1p-24
    }

    /// Counter blocks consumed by a draw of `count` elements.
    public static func blocks(for count: Int) -> UInt64 {
        UInt64((count + 3) / 4)
    }
}
