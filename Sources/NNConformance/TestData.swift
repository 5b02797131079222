import Foundation
import NNCore

/// Deterministic test inputs. Values are drawn as Float and widened, so the float32 and float64
/// backends and the Float64 reference all start from exactly the same numbers. Also a
/// `RandomNumberGenerator`, for the standard library's `random(in:using:)`. Public so a backend's
/// own tests can draw the same data.
public struct TestRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and good enough for test data.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// `count` Float-representable values uniform in [low, high).
    public mutating func uniform(_ count: Int, _ low: Double = -1, _ high: Double = 1) -> [Double] {
        (0..<count).map { _ in Double(Float(low + (high - low) * unit())) }
    }

    /// `count` Float-representable values from N(mean, sd²) (Box–Muller).
    public mutating func normal(_ count: Int, mean: Double = 0, sd: Double = 1) -> [Double] {
        (0..<count).map { _ in
            let r = (-2 * log(1 - unit())).squareRoot()
            return Double(Float(mean + sd * r * cos(2 * Double.pi * unit())))
        }
    }

    /// Values bounded away from zero in magnitude: [low, high) with a random sign.
    public mutating func signed(_ count: Int, magnitude low: Double, _ high: Double) -> [Double] {
        (0..<count).map { _ in
            let m = low + (high - low) * unit()
            return Double(Float(next() & 1 == 0 ? m : -m))
        }
    }

    public mutating func integers(_ count: Int, below bound: Int) -> [Double] {
        (0..<count).map { _ in Double(Int(next() % UInt64(bound))) }
    }
}

extension ConformanceContext {
    /// A tensor holding `values` (exact: they are Float-representable).
    func tensor(_ rows: Int, _ columns: Int, _ values: [Double]) throws -> Tensor {
        try backend.makeTensor(values, shape: Shape(rows, columns))
    }

    func values(_ t: Tensor) throws -> [Double] {
        try backend.downloadDouble(t)
    }
}

/// Largest absolute value, 0 for an empty array.
func maxAbs(_ values: [Double]) -> Double {
    values.reduce(0) { max($0, abs($1)) }
}
