import Foundation
import NNCore

/// Inverted dropout with a counter-based generator: every backend must draw NNCore's Philox mask,
/// bit for bit, so a run is reproducible across backends.
enum DropoutCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(.dropout, "masksMatchPhiloxAndOutputIsMasked", masksMatchPhiloxAndOutputIsMasked),
        ConformanceCase(.dropout, "keptFractionIsCloseToKeep", keptFractionIsCloseToKeep),
        ConformanceCase(.dropout, "keepOneKeepsEverything", keepOneKeepsEverything),
        ConformanceCase(.dropout, "differentOffsetsGiveDifferentMasks", differentOffsetsGiveDifferentMasks),
        ConformanceCase(.dropout, "identicalMasksAcrossBackends", identicalMasksAcrossBackends),
    ]

    /// Seeds and offsets that reach the high halves of the key and the counter.
    private static let streams: [(seed: UInt64, offset: UInt64)] = [(0, 0), (42, 7), (0xDEAD_BEEF_0123_4567, 0x1_0000_0005)]
    /// Element counts that are not multiples of 4, so partial Philox blocks are exercised.
    private static let shapes = [Shape(1, 1), Shape(7, 13), Shape(67, 31)]

    private static func philoxMask(count: Int, keep: Float, seed: UInt64, offset: UInt64) -> [Float] {
        let scale = 1 / keep
        return (0..<count).map { Philox.uniform(seed: seed, offset: offset, index: $0) < keep ? scale : 0 }
    }

    static func masksMatchPhiloxAndOutputIsMasked(_ b: ConformanceContext) throws {
        for shape in shapes {
            for keep: Float in [0.8, 0.5, 0.1] {
                for (seed, offset) in streams {
                    var rng = TestRandom(seed: seed ^ UInt64(shape.count))
                    let x = rng.normal(shape.count)
                    let mask = try b.backend.makeTensor(shape), y = try b.backend.makeTensor(shape)
                    try b.backend.dropoutForward(try b.tensor(shape.rows, shape.columns, x), keepProbability: keep,
                                                 seed: seed, offset: offset, mask: mask, output: y)
                    let expectedMask = philoxMask(count: shape.count, keep: keep, seed: seed, offset: offset)
                    let what = "dropout \(shape) keep=\(keep) seed=\(seed) offset=\(offset)"
                    let gotMask = try b.values(mask)
                    if b.backend.precision == .float32 {
                        // Bit for bit: the uniforms are exact in Float32, so there is nothing to round.
                        let gotBits = gotMask.map { Float($0).bitPattern }
                        let mismatches = zip(gotBits, expectedMask.map(\.bitPattern)).filter { $0 != $1 }.count
                        b.expectEqual(mismatches, 0, "[\(b.label)] \(what): \(mismatches) mask elements differ from NNCore's Philox")
                    } else {
                        // float64: the same elements kept; 1/keep may be formed in Float or in Double
                        // (a choice of the backend), which differ by at most one float32 rounding.
                        b.expectEqual(gotMask.map { $0 != 0 }, expectedMask.map { $0 != 0 },
                                       "[\(b.label)] \(what): kept elements differ from NNCore's Philox")
                        assertClose(gotMask, expectedMask.map(Double.init), Tolerance(rtol: 0x1p-24), "\(what) mask", on: b)
                    }
                    // y = x ⊙ mask: one rounding of the product (against the mask the backend drew).
                    let expectedY = zip(x, gotMask).map { $0 * $1 }
                    assertClose(try b.values(y), expectedY, Tolerance(rtol: b.u), "\(what) output", on: b)
                }
            }
        }
    }

    static func keptFractionIsCloseToKeep(_ b: ConformanceContext) throws {
        let shape = Shape(257, 129)
        for keep: Float in [0.9, 0.5, 0.2] {
            let mask = try b.backend.makeTensor(shape), y = try b.backend.makeTensor(shape)
            try b.backend.dropoutForward(try b.backend.makeTensor(shape), keepProbability: keep, seed: 9, offset: 0,
                                         mask: mask, output: y)
            let kept = Double(try b.values(mask).filter { $0 != 0 }.count) / Double(shape.count)
            // The kept count is Binomial(n, keep): its fraction has σ = √(keep(1 − keep)/n) ≤ 0.0028 at
            // n = 33,153; 5σ makes a false failure a one-in-a-million event.
            let sigma = (Double(keep) * (1 - Double(keep)) / Double(shape.count)).squareRoot()
            b.expectEqual(kept, Double(keep), accuracy: 5 * sigma, "[\(b.label)] kept fraction for keep=\(keep)")
        }
    }

    static func keepOneKeepsEverything(_ b: ConformanceContext) throws {
        let shape = Shape(7, 13)
        var rng = TestRandom(seed: 5)
        let x = rng.normal(shape.count)
        let mask = try b.backend.makeTensor(shape), y = try b.backend.makeTensor(shape)
        try b.backend.dropoutForward(try b.tensor(shape.rows, shape.columns, x), keepProbability: 1, seed: 3, offset: 11,
                                     mask: mask, output: y)
        assertClose(try b.values(mask), [Double](repeating: 1, count: shape.count), .exact, "dropout keep=1 mask", on: b)
        assertClose(try b.values(y), x, .exact, "dropout keep=1 output", on: b)
    }

    /// This backend draws the identical mask as every float32 peer it is run beside, bit for bit (not
    /// merely each matching the reference: this compares the backends' downloads directly). Without
    /// float32 peers there is nothing to compare, and the Philox case above still holds it to the bits.
    static func identicalMasksAcrossBackends(_ b: ConformanceContext) throws {
        guard b.backend.precision == .float32 else { return }
        let shape = Shape(257, 129)
        func draw(_ backend: any Backend) throws -> [UInt32] {
            let mask = try backend.makeTensor(shape), y = try backend.makeTensor(shape)
            try backend.dropoutForward(try backend.makeTensor(shape), keepProbability: 0.7, seed: 0xC0FFEE,
                                       offset: 123_456_789, mask: mask, output: y)
            return try backend.download(mask).map(\.bitPattern)
        }
        let own = try draw(b.backend)
        for peer in b.peers where peer.backend.precision == .float32 {
            let differing = zip(try draw(peer.backend), own).filter { $0 != $1 }.count
            b.expectEqual(differing, 0, "[\(b.label)] masks differ from \(peer.label)'s in \(differing) of \(shape.count) elements")
        }
    }

    static func differentOffsetsGiveDifferentMasks(_ b: ConformanceContext) throws {
        let shape = Shape(7, 13)
        var drawn: [[Double]] = []
        for offset: UInt64 in [0, Philox.blocks(for: shape.count)] {
            let mask = try b.backend.makeTensor(shape), y = try b.backend.makeTensor(shape)
            try b.backend.dropoutForward(try b.backend.makeTensor(shape), keepProbability: 0.5, seed: 1, offset: offset,
                                         mask: mask, output: y)
            drawn.append(try b.values(mask))
        }
        b.expectNotEqual(drawn[0], drawn[1], "[\(b.label)] successive offsets must draw fresh masks")
    }
}
