import Foundation

/// A small, fast, seedable random generator (xoshiro256** seeded through SplitMix64) whose whole
/// state is four words, so a training run can store it in a checkpoint and resume bit for bit.
///
/// Swift's `SystemRandomNumberGenerator` cannot be seeded and the standard library's shuffle
/// algorithm is not guaranteed stable across releases, so the library uses this generator and its
/// own Fisher–Yates shuffle everywhere a random choice is made (initialisation, splits, batches).
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    /// The four state words; exposed so trainer state can be serialised.
    public private(set) var state: [UInt64]

    /// A generator whose sequence is a pure function of `seed`.
    public init(seed: UInt64) {
        var mixer = seed
        var words: [UInt64] = []
        for _ in 0..<4 { words.append(Self.splitMix64(&mixer)) }
        state = words
    }

    /// Restores a generator from ``state`` as previously saved.
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw NNError.invalidData(
                source: "random generator state",
                detail: "expected 4 words, not all zero; got \(state); the saved training state is corrupt")
        }
        self.state = state
    }

    public mutating func next() -> UInt64 {
        let result = Self.rotate(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = Self.rotate(state[3], 45)
        return result
    }

    /// A uniform integer in 0..<bound, without modulo bias (Lemire's method). `bound` must be
    /// positive: callers pass a count they have just checked, so anything else is a programming error.
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "nextIndex(below:) needs a positive bound")
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold {
                product = next().multipliedFullWidth(by: b)
            }
        }
        return Int(product.high)
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal deviate (Box–Muller; both uniforms drawn fresh, so no hidden cached state).
    public mutating func nextGaussian() -> Double {
        let u1 = 1 - nextUnitDouble()  // (0, 1]: log stays finite
        let u2 = nextUnitDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// A seeded Fisher–Yates permutation of 0..<count, stable across Swift releases.
    public mutating func permutation(_ count: Int) -> [Int] {
        var order = Array(0..<count)
        shuffle(&order)
        return order
    }

    /// Shuffles `values` in place with Fisher–Yates.
    public mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            let j = nextIndex(below: i + 1)
            if i != j { values.swapAt(i, j) }
        }
    }

    private static func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }

    private static func splitMix64(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
