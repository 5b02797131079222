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
}
