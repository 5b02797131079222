import NNCore
import NNNative
import XCTest

/// The run-time choice of the native kernels' instruction set (``KernelVariant``): parsing and
/// refusing `NN_NATIVE_ISA` values, and every variant this CPU runs agreeing with a Float64
/// reference and, where the arithmetic matches, with the others bit for bit. The rest of the
/// conformance suite runs on the process's variant; scripts/test-variants.sh runs it on each.
final class KernelVariantTests: XCTestCase {
    func testFeatureBitsMapToVariants() {
        XCTAssertEqual(KernelVariant.supported(features: 0), [.baseline])
        XCTAssertEqual(KernelVariant.supported(features: 1), [.baseline, .avx2])
        XCTAssertEqual(KernelVariant.supported(features: 3), [.baseline, .avx2, .avx512])
        XCTAssertEqual(KernelVariant.supported.first, .baseline, "baseline runs everywhere")
    }

    func testOverrideParsing() throws {
        let avx2Machine: [KernelVariant] = [.baseline, .avx2]
        XCTAssertEqual(try KernelVariant.resolve(nil, supported: avx2Machine), .avx2, "unset picks the widest")
        XCTAssertEqual(try KernelVariant.resolve("", supported: avx2Machine), .avx2)
        XCTAssertEqual(try KernelVariant.resolve(" Baseline ", supported: avx2Machine), .baseline)
        XCTAssertEqual(try KernelVariant.resolve("AVX2", supported: avx2Machine), .avx2)
        XCTAssertEqual(try KernelVariant.resolve("avx512", supported: [.baseline, .avx2, .avx512]), .avx512)
        XCTAssertEqual(try KernelVariant.resolve(nil, supported: [.baseline]), .baseline)
    }

    func testUnsupportedOrUnknownVariantIsRefusedWithTheFix() {
        XCTAssertThrowsError(try KernelVariant.resolve("avx512", supported: [.baseline, .avx2])) { error in
            XCTAssertEqual(error as? KernelVariantError, .unsupported(.avx512, supported: [.baseline, .avx2]))
            let text = "\(error)"
            XCTAssertTrue(text.contains("NN_NATIVE_ISA=avx512"), text)
            XCTAssertTrue(text.contains("baseline, avx2"), "names what the CPU supports: \(text)")
            XCTAssertTrue(text.contains("unset NN_NATIVE_ISA"), "names the fix: \(text)")
        }
        XCTAssertThrowsError(try KernelVariant.resolve("neon", supported: [.baseline, .avx2])) { error in
            XCTAssertEqual(error as? KernelVariantError, .unknown("neon"))
            XCTAssertTrue("\(error)".contains("baseline, avx2 or avx512"), "\(error)")
        }
    }

    /// A variant this CPU lacks cannot be forced through the initializer either.
    func testInitializerRefusesWhatTheCPULacks() throws {
        for variant in KernelVariant.allCases {
            if variant.isSupported {
                XCTAssertEqual(try NativeBackend(threads: 1, kernels: variant).kernels, variant)
            } else {
                XCTAssertThrowsError(try NativeBackend(threads: 1, kernels: variant), "\(variant)")
            }
        }
    }

    func testDeviceDescriptionNamesTheVariant() throws {
        for variant in KernelVariant.supported {
            let backend = try NativeBackend(threads: 1, kernels: variant)
            XCTAssertTrue(backend.deviceDescription.contains("kernels \(variant)"), backend.deviceDescription)
        }
    }

    /// The conformance suite runs on one variant per process: the one `NN_NATIVE_ISA` names
    /// (scripts/test-variants.sh runs it once per variant this CPU supports), else the widest.
    func testConformanceRunsOnTheRequestedVariant() throws {
        let native = try XCTUnwrap(BackendRoster.shared.backend(labelled: "native")?.backend as? NativeBackend)
        let requested = ProcessInfo.processInfo.environment[KernelVariant.environmentVariable]
        XCTAssertEqual(native.kernels, try KernelVariant.resolve(requested))
        if requested == nil { XCTAssertEqual(native.kernels, KernelVariant.best) }
    }

    /// Shapes on both sides of every path: tiles with edges, the narrow path at widths 4, 8 and 16
    /// (n = 3, 8, 10, 16, with A transposed as in a weight gradient), k across KC slices, and a product
    /// split over two threads. Each variant must match the Float64 reference; variants whose
    /// arithmetic is the same (fused, or not) must give the same bits, and a repeat the same bits.
    func testEveryVariantMatchesTheReferenceAndAgreesBitForBit() throws {
        let shapes = [(7, 5, 3), (13, 3, 40), (64, 10, 300), (9, 8, 17), (33, 16, 5), (40, 70, 96), (130, 37, 270), (96, 100, 64)]
        let variants = KernelVariant.supported
        for (m, n, k) in shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true)] {
                for (alpha, beta) in [(Float(1), Float(0)), (Float(-0.5), Float(2))] {
                    let av = HostGemm.values(m * k, seed: 1), bv = HostGemm.values(k * n, seed: 2), cv = HostGemm.values(m * n, seed: 3)
                    let want = HostGemm.reference(av, ta, bv, tb, cv, m: m, n: n, k: k, alpha: Double(alpha), beta: Double(beta))
                    var byArithmetic: [String: (KernelVariant, [UInt32])] = [:]
                    for variant in variants {
                        let backend = try NativeBackend(threads: 2, kernels: variant)
                        let run = { () throws -> [Float] in
                            let a = try backend.makeTensor(av, shape: ta ? Shape(k, m) : Shape(m, k))
                            let b = try backend.makeTensor(bv, shape: tb ? Shape(n, k) : Shape(k, n))
                            let c = try backend.makeTensor(cv, shape: Shape(m, n))
                            try backend.gemm(a, transposeA: ta, b, transposeB: tb, into: c, alpha: alpha, beta: beta)
                            return try backend.download(c)
                        }
                        let got = try run()
                        let context = "\(variant) gemm \(m)×\(n)×\(k) tA=\(ta) tB=\(tb) α=\(alpha) β=\(beta)"
                        XCTAssertEqual(try run().map(\.bitPattern), got.map(\.bitPattern), "\(context): a repeat differs")
                        for i in got.indices {
                            // k ≤ 300 products of terms in [-1, 1]: float32 error ≲ k·2⁻²⁴; 3e-5 covers it and β·C.
                            XCTAssertEqual(Double(got[i]), want[i], accuracy: 3e-5 + 1e-5 * abs(want[i]), "\(context) at \(i)")
                        }
                        let bits = got.map(\.bitPattern)
                        if let (other, otherBits) = byArithmetic[backend.arithmeticDescription] {
                            XCTAssertEqual(bits, otherBits, "\(context) differs from \(other) with the same arithmetic")
                        } else {
                            byArithmetic[backend.arithmeticDescription] = (variant, bits)
                        }
                    }
                }
            }
        }
    }

    /// Softmax and the fused softmax cross-entropy run C loops on the AVX2 and AVX-512 variants and
    /// the Swift ones on baseline, with the same operations in the same order: every variant must
    /// give the same bits. Row lengths straddle the C loops' 8-, 16-, 32- and 256-float steps; rows
    /// hold ±∞, a NaN, values whose exponentials underflow to subnormals and to 0, and ties at the max.
    func testSoftmaxRowsAgreeBitForBitAcrossVariants() throws {
        var generator = SeededGenerator(seed: 11)
        for n in [1, 5, 8, 15, 16, 17, 31, 32, 33, 63, 255, 256, 257, 1000, 4100] {
            let rows = 9
            var logits = (0..<rows * n).map { _ in Float.random(in: -30...30, using: &generator) }
            if n > 1 { logits[1 * n] = -.infinity }                 // one −∞ entry: its ŷ is exactly 0
            logits[2 * n + n / 2] = .infinity                       // +∞ − +∞ makes the row NaN
            logits[3 * n + n - 1] = .nan                            // a NaN anywhere makes the row NaN
            for j in 0..<n { logits[4 * n + j] = j % 2 == 0 ? 0 : -95 }   // e^−95: subnormal, then scaled
            for j in 0..<n { logits[5 * n + j] = j % 3 == 0 ? 50 : -80 }  // e^−130 underflows to 0
            for j in 0..<n { logits[6 * n + j] = 7 }                      // all tied at the max
            let labels = (0..<rows).map { Float($0 * 7 % n) }
            var byVariant: [(KernelVariant, [UInt32])] = []
            for variant in KernelVariant.supported {
                let backend = try NativeBackend(threads: 2, kernels: variant)
                let x = try backend.makeTensor(logits, shape: Shape(rows, n))
                let y = try backend.makeTensor(Shape(rows, n))
                try backend.softmax(x, into: y)
                let gradient = try backend.makeTensor(Shape(rows, n)), loss = try backend.makeTensor(Shape(1, 1))
                try backend.softmaxCrossEntropy(x, labels: try backend.makeTensor(labels, shape: Shape(rows, 1)),
                                                gradient: gradient, loss: loss)
                let probabilities = try backend.download(y)
                // The rows that hold neither +∞ nor NaN sum to 1: each ŷ is within 3 ulp (exp's 1.21
                // and the scaling's rounding), so the sum within 3·2⁻²³ ≈ 3.6e-7.
                for row in [0, 1, 4, 5, 6, 7, 8] {
                    let total = probabilities[row * n..<(row + 1) * n].reduce(0.0) { $0 + Double($1) }
                    XCTAssertEqual(total, 1, accuracy: 4e-7, "\(variant) n=\(n) row \(row)")
                }
                if n > 1 { XCTAssertEqual(probabilities[1 * n], 0, "\(variant) n=\(n): exp(−∞) is 0") }
                XCTAssertTrue(probabilities[(2 * n)..<(4 * n)].allSatisfy(\.isNaN), "\(variant) n=\(n): rows with +∞ or NaN are NaN")
                let bits = (probabilities + (try backend.download(gradient)) + (try backend.download(loss))).map(\.bitPattern)
                if let (first, firstBits) = byVariant.first, let index = bits.indices.first(where: { bits[$0] != firstBits[$0] }) {
                    XCTFail("\(variant) differs from \(first) at n=\(n), value \(index) (of ŷ, then the gradient, then the loss): "
                            + "\(Float(bitPattern: bits[index])) against \(Float(bitPattern: firstBits[index]))")
                }
                byVariant.append((variant, bits))
            }
        }
    }
}
