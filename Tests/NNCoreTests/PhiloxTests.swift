import NNCore
import XCTest

/// Philox4x32-10 against the published known-answer vectors, plus the properties dropout relies on:
/// the counter/word layout, 24-bit uniforms in [0, 1), and uniformity.
final class PhiloxTests: XCTestCase {
    private typealias Block = (UInt32, UInt32, UInt32, UInt32)

    private func assertBlock(_ actual: Block, _ expected: Block, _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        let a = [actual.0, actual.1, actual.2, actual.3].map { String($0, radix: 16) }
        let e = [expected.0, expected.1, expected.2, expected.3].map { String($0, radix: 16) }
        XCTAssertEqual(a, e, "Philox4x32-10 known answer \(label)", file: file, line: line)
    }

    /// Random123 `kat_vectors`, philox4x32 with 10 rounds.
    func testKnownAnswerVectors() {
        assertBlock(Philox.block(counter: (0, 0, 0, 0), key: (0, 0)),
                    (0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8), "counter 0, key 0")
        assertBlock(Philox.block(counter: (.max, .max, .max, .max), key: (.max, .max)),
                    (0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd), "counter and key all ones")
        assertBlock(Philox.block(counter: (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344),
                                 key: (0xa409_3822, 0x299f_31d0)),
                    (0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1), "digits of π")
    }

    /// Element i reads word i % 4 of the block at counter offset + i/4, with the seed as the key.
    func testWordLayoutFollowsCounterAndKey() {
        let seed: UInt64 = 0x0123_4567_89ab_cdef
        let offset: UInt64 = 0x1_0000_0003  // crosses into the high counter word
        for index in 0..<12 {
            let ctr = offset + UInt64(index / 4)
            let block = Philox.block(counter: (UInt32(truncatingIfNeeded: ctr), UInt32(ctr >> 32), 0, 0),
                                     key: (0x89ab_cdef, 0x0123_4567))
            let words = [block.0, block.1, block.2, block.3]
            XCTAssertEqual(Philox.word(seed: seed, offset: offset, index: index), words[index % 4], "index \(index)")
        }
        // Advancing the offset by blocks(for:) continues the same stream without reuse.
        XCTAssertEqual(Philox.blocks(for: 8), 2)
        XCTAssertEqual(Philox.blocks(for: 9), 3)
        XCTAssertEqual(Philox.blocks(for: 1), 1)
        XCTAssertEqual(Philox.word(seed: 7, offset: 10, index: 8), Philox.word(seed: 7, offset: 12, index: 0))
        XCTAssertNotEqual(Philox.word(seed: 7, offset: 10, index: 0), Philox.word(seed: 8, offset: 10, index: 0))
    }

    /// Uniforms carry exactly 24 random bits, so they are exact in Float32 and lie in [0, 1).
    func testUniformIsTwentyFourBitAndInRange() {
        for index in 0..<4096 {
            let u = Philox.uniform(seed: 42, offset: 0, index: index)
            XCTAssert(u >= 0 && u < 1, "u[\(index)] = \(u) outside [0, 1)")
            let scaled = u * 0x1p24
            XCTAssertEqual(scaled, scaled.rounded(), "u[\(index)] = \(u) is not a multiple of 2⁻²⁴")
        }
        XCTAssertEqual(Philox.uniform(seed: 42, offset: 0, index: 5),
                       Float(Philox.word(seed: 42, offset: 0, index: 5) >> 8) / 16_777_216)
    }

    /// Mean, variance and a 16-bin χ² test over 64,000 draws.
    func testUniformDrawsAreUniform() {
        let n = 64_000
        var sum = 0.0, sumSq = 0.0
        var bins = [Int](repeating: 0, count: 16)
        for i in 0..<n {
            let u = Double(Philox.uniform(seed: 2024, offset: 17, index: i))
            sum += u
            sumSq += u * u
            bins[min(Int(u * 16), 15)] += 1
        }
        let mean = sum / Double(n)
        let variance = sumSq / Double(n) - mean * mean  // Double, values in [0,1): no cancellation issue
        // The sample mean of U(0,1) has standard deviation √(1/12/n) ≈ 0.00114; allow 5σ.
        XCTAssertEqual(mean, 0.5, accuracy: 5 * (1.0 / 12 / Double(n)).squareRoot(), "mean of uniforms")
        // The sample variance has standard deviation √((1/80 − 1/144)/n) ≈ 0.00030; allow 5σ.
        XCTAssertEqual(variance, 1.0 / 12, accuracy: 5 * ((1.0 / 80 - 1.0 / 144) / Double(n)).squareRoot(), "variance")
        // χ² with 15 degrees of freedom exceeds 44.3 with probability 10⁻⁴ for a uniform source.
        let expected = Double(n) / 16
        let chiSquare = bins.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        XCTAssertLessThan(chiSquare, 44.3, "χ² over 16 bins: \(bins)")
    }

    /// Adjacent seeds and offsets must not give correlated streams (dropout masks per layer and step).
    func testNeighbouringStreamsDiffer() {
        let n = 4096
        var sameBits = 0
        for i in 0..<n where Philox.uniform(seed: 1, offset: 0, index: i) < 0.5
            && Philox.uniform(seed: 2, offset: 0, index: i) < 0.5 {
            sameBits += 1
        }
        // Independent streams agree on "both < 0.5" for n/4 = 1024 elements, σ = √(n·3/16) ≈ 27.7; allow 5σ.
        XCTAssertEqual(Double(sameBits), Double(n) / 4, accuracy: 5 * (Double(n) * 3 / 16).squareRoot())
    }
}
