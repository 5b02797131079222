import Foundation
import NNConformance
import NNCore
import NNOpenCL
import XCTest

/// The tiled (GPU) GEMM family on whatever OpenCL device is present — PoCL in CI, where it is forced
/// onto the CPU — across a representative set of its tunings, not only the default; its tuning
/// rules; the per-class dispatch; and the autotuner's GPU search space, checked against fake devices
/// so that no GPU is needed.
final class GemmTiledTests: XCTestCase {
    private func openBackend(_ tuning: GemmTuning, skinny: GemmTuning? = nil) throws -> OpenCLBackend {
        try openCLOrSkip { try OpenCLBackend(deviceSelector: nil, gemmTuning: tuning, skinnyGemmTuning: skinny) }
    }

    /// Points spread over the space: each of the kernel's switches both ways, every vector width,
    /// paddings that keep and break vector alignment, one and two local buffers, and split K.
    /// Small tiles where the size does not matter, because PoCL compiles every work-item of a
    /// work-group into one function and large tiles take long to build.
    static let representativeTunings: [GemmTuning] = [
        GemmTuning.gpuSquareDefault,
        GemmTuning.gpuSkinnyDefault,
        // The first tiled kernel's switches (scalars, strided columns, no padding, one buffer) on a
        // smaller tile: 64 × 64 over 16 × 16 work-items would only add PoCL compile time.
        GemmTuning(family: .tiled, mwg: 32, nwg: 32, kwg: 16, mdimc: 8, ndimc: 8, vwm: 1, vwn: 1, strm: false, strn: true,
                   padA: 0, padB: 0, doubleBuffer: false, kwi: 2, kSplit: 1),
        // Wide A vectors, strided rows, contiguous columns, a padding that breaks alignment, split K.
        GemmTuning(family: .tiled, mwg: 32, nwg: 16, kwg: 8, mdimc: 4, ndimc: 8, vwm: 8, vwn: 2, strm: true, strn: false,
                   padA: 1, padB: 2, doubleBuffer: true, kwi: 8, kSplit: 8),
        // Rectangular work-group, wide B vectors, both strided, long k step, one buffer.
        GemmTuning(family: .tiled, mwg: 16, nwg: 64, kwg: 32, mdimc: 8, ndimc: 4, vwm: 2, vwn: 8, strm: true, strn: true,
                   padA: 4, padB: 1, doubleBuffer: false, kwi: 2, kSplit: 2),
        // Scalar A, float4 B, contiguous both, double-buffered, split K.
        GemmTuning(family: .tiled, mwg: 32, nwg: 32, kwg: 8, mdimc: 8, ndimc: 8, vwm: 1, vwn: 4, strm: false, strn: false,
                   padA: 2, padB: 0, doubleBuffer: true, kwi: 2, kSplit: 4),
    ]

    /// Every representative tuning against the Float64 reference: the four transpose combinations,
    /// sizes 1, 7, 129 and 1000 in every position (edges of every tile, vectors cut short, leading
    /// dimensions that forbid aligned vector loads), a k that splits into a short last slice, work-groups
    /// on the kernel's interior path (tiles wholly inside aligned operands, loaded without tests) beside
    /// edge groups of the same product, and alpha/beta both with beta = 0 over a NaN-filled C (which
    /// must be overwritten, not read).
    func testRepresentativeTuningsMatchTheReference() throws {
        // (5, 9, 1000) is one tile for every tuning here, so it splits K as far as each tuning allows.
        // (264, 136, 64): whole k steps and sizes divisible by every vector width, so the groups of the
        // first 256 × 128 are interior for every tuning here (the defaults' 128 × 128 tiles included),
        // and the rest are edge groups. (128, 128, 512): one to four 128 × 128 tiles, split K into
        // slices of whole steps for the tunings that split, every group interior.
        let shapes = [(1, 1, 1), (7, 129, 1000), (129, 1000, 7), (1000, 7, 129), (33, 64, 301), (64, 48, 32), (5, 9, 1000),
                      (264, 136, 64), (128, 128, 512)]
        struct Case {
            let m, n, k: Int
            let ta, tb: Bool
            let alpha, beta: Float
            let a, b, c: [Float]
            let want: [Double]
        }
        // Inputs and references once, shared by every tuning (the host reference dominates in debug builds).
        var cases: [Case] = []
        for (m, n, k) in shapes {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                for (alpha, beta) in [(Float(1.5), Float(0)), (Float(-0.5), Float(0.25))] {
                    let av = HostGemm.values(m * k, seed: UInt64(m + 7 * k)), bv = HostGemm.values(k * n, seed: UInt64(n + 3 * k))
                    let cv = beta == 0 ? [Float](repeating: .nan, count: m * n) : HostGemm.values(m * n, seed: 5)
                    let want = HostGemm.reference(av, ta, bv, tb, cv, m: m, n: n, k: k, alpha: Double(alpha), beta: Double(beta))
                    cases.append(Case(m: m, n: n, k: k, ta: ta, tb: tb, alpha: alpha, beta: beta, a: av, b: bv, c: cv, want: want))
                }
            }
        }
        for tuning in Self.representativeTunings {
            try tuning.validate()
            let backend = try openBackend(tuning)
            XCTAssertEqual(tuning.kSlices(m: 5, n: 9, k: 1000, computeUnits: backend.device.computeUnits).count,
                           min(tuning.kSplit, 4 * backend.device.computeUnits), "\(tuning): the split-K path runs")
            for test in cases {
                let (m, n, k, ta, tb, alpha, beta, want) = (test.m, test.n, test.k, test.ta, test.tb, test.alpha, test.beta, test.want)
                let a = try backend.makeTensor(test.a, shape: ta ? Shape(k, m) : Shape(m, k))
                let b = try backend.makeTensor(test.b, shape: tb ? Shape(n, k) : Shape(k, n))
                let c = try backend.makeTensor(test.c, shape: Shape(m, n))
                try backend.gemm(a, transposeA: ta, b, transposeB: tb, into: c, alpha: alpha, beta: beta)
                let got = try backend.download(c)
                // Terms in [-1, 1]: float32 rounding grows like √k·ulp(partial sums) in practice, ≲ 2e-5 at
                // k = 1000 (any summation order: split K sums its slices separately); the worst case
                // k·2⁻²⁴·Σ|aᵢbᵢ| is far looser. 1e-4 + k·2e-7 sits between the two, well below the error
                // of a dropped or doubled k step (≈ |aᵢbᵢ| ~ 0.25) or a misplaced element.
                let bound = 1e-4 + Double(k) * 2e-7
                var worst = 0.0, worstAt = 0
                for i in got.indices {
                    let error = abs(Double(got[i]) - want[i])
                    if !(error <= worst) { (worst, worstAt) = (error, i) }
                }
                XCTAssertLessThanOrEqual(worst, bound,
                    "\(tuning) m=\(m) n=\(n) k=\(k) tA=\(ta) tB=\(tb) α=\(alpha) β=\(beta): worst at \(worstAt), "
                    + "got \(got[worstAt]) want \(want[worstAt])")
            }
        }
    }

    /// The NNConformance algebra cases (GEMM in every form, against the Float64 reference with the
    /// suite's tolerances) on the tiled family: the GPU defaults for both shape classes, the fallbacks
    /// an untuned device with fewer resources gets instead, and a split-K-heavy tuning with
    /// misaligning padding for both.
    func testAlgebraConformanceOnTiledTunings() throws {
        let cases = ConformanceSuite.cases(in: .algebra)
        let fallbacks = zip(GemmTuning.gpuFallbacks(from: .gpuSquareDefault), GemmTuning.gpuFallbacks(from: .gpuSkinnyDefault))
        for (square, skinny) in Array(fallbacks) + [(Self.representativeTunings[3], Self.representativeTunings[3])] {
            let backend = try openBackend(square, skinny: skinny)
            for result in ConformanceSuite(backend: backend, label: "opencl-tiled").run(cases) {
                for failure in result.failures { XCTFail("\(square) / \(skinny): \(result.caseID): \(failure)") }
            }
        }
    }

    /// The fused bias + ReLU epilogue on every representative tuning, with and without split K, against
    /// the composed ops' reference; and the entry point's refusals.
    func testBiasReLUEpilogueOnRepresentativeTunings() throws {
        for tuning in Self.representativeTunings {
            let backend = try openBackend(tuning)
            for (m, n, k, ta, tb) in [(5, 9, 1000, false, true), (33, 64, 31, true, false), (70, 130, 20, false, false)] {
                let av = HostGemm.values(m * k, seed: 21), bv = HostGemm.values(k * n, seed: 22), biasValues = HostGemm.values(n, seed: 23)
                let a = try backend.makeTensor(av, shape: ta ? Shape(k, m) : Shape(m, k))
                let b = try backend.makeTensor(bv, shape: tb ? Shape(n, k) : Shape(k, n))
                let c = try backend.makeTensor([Float](repeating: .nan, count: m * n), shape: Shape(m, n))
                let bias = try backend.makeTensor(biasValues, shape: Shape(1, n))
                try backend.gemm(a, transposeA: ta, b, transposeB: tb, into: c, alpha: 0.5, bias: bias, relu: true)
                let got = try backend.download(c)
                let product = HostGemm.reference(av, ta, bv, tb, [], m: m, n: n, k: k, alpha: 0.5, beta: 0)
                for i in got.indices {
                    let want = max(0, product[i] + Double(biasValues[i % n]))
                    // As in testRepresentativeTuningsMatchTheReference, plus one rounding of the bias add.
                    XCTAssertEqual(Double(got[i]), want, accuracy: 1e-4 + Double(k) * 2e-7, "\(tuning) \(m)×\(n)×\(k) at \(i)")
                }
            }
        }
        let backend = try openBackend(GemmTuning.gpuSkinnyDefault)
        let a = try backend.makeTensor(Shape(4, 3)), b = try backend.makeTensor(Shape(3, 5)), c = try backend.makeTensor(Shape(4, 5))
        XCTAssertThrowsError(try backend.gemm(a, transposeA: false, b, transposeB: false, into: c, bias: try backend.makeTensor(Shape(1, 4)),
                                              relu: false), "a bias of the wrong length")
        let row = try backend.makeTensor(Shape(1, 3)), rowC = try backend.makeTensor(Shape(1, 5))
        XCTAssertThrowsError(try backend.gemm(row, transposeA: false, b, transposeB: false, into: rowC, bias: rowC, relu: false)) { error in
            guard case NNError.invalidArgument(op: "gemm", _) = error else { return XCTFail("got \(error)") }
        }
    }

    /// Split K cuts whole KWG steps, keeps two steps a slice, never leaves an empty slice, and stays
    /// off when C already has enough tiles or the tuning forbids it.
    func testSplitKSlicing() {
        let skinny = GemmTuning.gpuSkinnyDefault   // 64 × 64 tiles, KWG 16, up to 4 slices
        XCTAssertEqual(skinny.kSlices(m: 256, n: 512, k: 784, computeUnits: 132).count, 4)
        let (count, length) = skinny.kSlices(m: 19, n: 35, k: 301, computeUnits: 4)
        XCTAssertEqual(length % skinny.kwg, 0)
        XCTAssertEqual(count, 4)
        XCTAssertGreaterThan(301 - (count - 1) * length, 0, "the last slice is not empty")
        XCTAssertEqual(skinny.kSlices(m: 19, n: 35, k: 40, computeUnits: 4).count, 1, "under two k steps a slice: no split")
        XCTAssertEqual(skinny.kSlices(m: 4096, n: 4096, k: 4096, computeUnits: 132).count, 1, "4096 tiles fill the device")
        XCTAssertEqual(GemmTuning.gpuSquareDefault.kSlices(m: 256, n: 512, k: 784, computeUnits: 132).count, 1)
        for k in [1, 31, 32, 33, 300, 301, 1000, 4097] {
            let (count, length) = GemmTuning(family: .tiled, kSplit: 8).kSlices(m: 5, n: 5, k: k, computeUnits: 100)
            XCTAssertTrue(count >= 1 && (count - 1) * length < k && count * length >= k, "k=\(k): \(count) × \(length)")
        }
    }

    /// Each shape class runs its own tuning: here the vector family for large C and the tiled family
    /// for small C, both correct, and the backend's description names both.
    func testShapeClassesDispatchToTheirOwnTuning() throws {
        XCTAssertEqual(GemmShapeClass.of(m: 1024, n: 1024), .square)
        XCTAssertEqual(GemmShapeClass.of(m: 1023, n: 1024), .skinny)
        XCTAssertEqual(GemmShapeClass.of(m: 256, n: 512), .skinny)
        XCTAssertEqual(GemmShapeClass.of(m: 4096, n: 256), .square)

        let vector = GemmTuning(family: .vector, mr: 6, vectorWidth: 8, vectorsPerRow: 2, narrowRows: 12)
        let tiled = Self.representativeTunings[5]
        let backend = try openBackend(vector, skinny: tiled)
        XCTAssertEqual(backend.gemmTuning, vector)
        XCTAssertEqual(backend.skinnyGemmTuning, tiled)
        XCTAssertTrue(backend.deviceDescription.contains("skinny GEMM tiled("), backend.deviceDescription)
        for (m, n, k) in [(1024, 1024, 3), (100, 70, 90)] {
            let av = HostGemm.values(m * k, seed: 11), bv = HostGemm.values(k * n, seed: 12)
            let a = try backend.makeTensor(av, shape: Shape(m, k)), b = try backend.makeTensor(bv, shape: Shape(k, n))
            let c = try backend.makeTensor(Shape(m, n))
            try backend.gemm(a, transposeA: false, b, transposeB: false, into: c, alpha: 1, beta: 0)
            let got = try backend.download(c)
            let want = HostGemm.reference(av, false, bv, false, [], m: m, n: n, k: k, alpha: 1, beta: 0)
            for i in got.indices {
                // k ≤ 90 terms in [-1, 1]: float32 error ≤ 90·2⁻²⁴·90 ≈ 5e-4 at worst, typically far less.
                XCTAssertEqual(Double(got[i]), want[i], accuracy: 5e-4, "\(m)×\(n)×\(k) at \(i)")
            }
        }
        XCTAssertEqual(try openBackend(tiled).skinnyGemmTuning, tiled, "an explicit tuning serves both classes")
    }

    func testValidateRejectsImpossibleTilings() {
        let cases: [(GemmTuning, String)] = [
            (GemmTuning(family: .tiled, mwg: 64, mdimc: 16, vwm: 8), "MWG must divide by MDIMC·VWM"),
            (GemmTuning(family: .tiled, nwg: 48, ndimc: 16, vwn: 2), "NWG must divide by NDIMC·VWN"),
            (GemmTuning(family: .tiled, kwg: 4, vwm: 8, vwn: 1), "KWG must divide by VWM and VWN"),
            (GemmTuning(family: .tiled, mwg: 16, nwg: 16, kwg: 4, mdimc: 8, ndimc: 16, vwm: 2, vwn: 1, kwi: 2), "whole vectors per work-item"),
            (GemmTuning(family: .tiled, vwm: 3), "VWM and VWN must be 1, 2, 4 or 8"),
            (GemmTuning(family: .tiled, padA: 33), "PADA and PADB"),
            (GemmTuning(family: .tiled, kwg: 16, kwi: 3), "KWI must be ≥ 1 and divide KWG"),
            (GemmTuning(family: .tiled, kSplit: 0), "split-K limit"),
            (GemmTuning(family: .tiled, mdimc: 0), "every tile size"),
        ]
        for (tuning, reason) in cases {
            XCTAssertThrowsError(try tuning.validate(), "\(tuning)") { error in
                guard case let NNError.invalidArgument(op, detail) = error else { return XCTFail("got \(error)") }
                XCTAssertEqual(op, "GEMM tuning")
                XCTAssertTrue(detail.contains(reason), "\(detail) should say \(reason)")
            }
        }
        XCTAssertNoThrow(try GemmTuning.gpuSquareDefault.validate())
        XCTAssertNoThrow(try GemmTuning.gpuSkinnyDefault.validate())
        // The backend refuses an invalid tuning before building anything.
        XCTAssertThrowsError(try OpenCLBackend(gemmTuning: GemmTuning(family: .tiled, vwm: 3)))
    }

    // MARK: The autotuner's GPU space, on fake devices

    static func fakeGPU(localMemory: UInt64, maxWorkGroup: Int, name: String = "Fake GPU") -> OpenCLDeviceInfo {
        OpenCLDeviceInfo(index: 0, platformName: "Fake", platformVersion: "OpenCL 3.0", name: name, vendor: "Fake",
                         type: .gpu, driverVersion: "1.0", openCLVersion: "OpenCL 3.0", computeUnits: 132,
                         globalMemoryBytes: 1 << 36, localMemoryBytes: localMemory, maxWorkGroupSize: maxWorkGroup,
                         preferredFloatVectorWidth: 1)
    }

    func testGpuCandidatesRespectDeviceLimitsAndAreDeterministic() throws {
        let large = Self.fakeGPU(localMemory: 48 * 1024, maxWorkGroup: 1024)
        let small = Self.fakeGPU(localMemory: 16 * 1024, maxWorkGroup: 256, name: "Small GPU")
        for shapeClass in GemmShapeClass.allCases {
            let size = GemmAutotuner.gpuSpaceSize(shapeClass: shapeClass)
            let fitLarge = GemmAutotuner.gpuSpaceSize(shapeClass: shapeClass, fitting: large)
            let fitSmall = GemmAutotuner.gpuSpaceSize(shapeClass: shapeClass, fitting: small)
            print("GPU space, \(shapeClass.rawValue): \(size) valid tunings; \(fitLarge) fit 48 KiB/1024 items, "
                  + "\(fitSmall) fit 16 KiB/256 items")
            XCTAssertGreaterThan(fitLarge, 100_000, "a CLBlast-sized space after pruning")
            XCTAssertLessThan(fitSmall, fitLarge)
            XCTAssertLessThan(fitLarge, size)

            for device in [large, small] {
                let candidates = GemmAutotuner.candidates(for: device, shapeClass: shapeClass)
                XCTAssertEqual(candidates, GemmAutotuner.candidates(for: device, shapeClass: shapeClass), "deterministic")
                XCTAssertEqual(Set(candidates).count, candidates.count, "no candidate twice")
                XCTAssertEqual(candidates.count, GemmAutotuner.gpuSampleSize + (candidates.first == GemmTuning.defaults(for: device, shapeClass: shapeClass) ? 1 : 0))
                XCTAssertTrue(candidates.allSatisfy { $0.family == .tiled })
                for candidate in candidates {
                    XCTAssertLessThanOrEqual(candidate.mdimc * candidate.ndimc, device.maxWorkGroupSize, "\(candidate)")
                    XCTAssertLessThanOrEqual(UInt64(candidate.tiledLocalMemoryBytes), device.localMemoryBytes, "\(candidate)")
                    XCTAssertLessThanOrEqual(candidate.tiledRegisterEstimate, GemmAutotuner.gpuRegisterLimit, "\(candidate)")
                    XCTAssertNoThrow(try candidate.validate())
                    if shapeClass == .square { XCTAssertEqual(candidate.kSplit, 1, "square products never split") }
                }
            }
            let defaults = GemmTuning.defaults(for: large, shapeClass: shapeClass)
            XCTAssertEqual(GemmAutotuner.candidates(for: large, shapeClass: shapeClass).first, defaults, "the default is measured first")
            XCTAssertFalse(GemmAutotuner.fits(GemmTuning.gpuSquareDefault, on: small), "33 KiB of tiles do not fit 16 KiB")
            XCTAssertTrue(GemmAutotuner.candidates(for: small, shapeClass: shapeClass).allSatisfy { $0 != GemmTuning.gpuSquareDefault })
        }
        XCTAssertTrue(GemmAutotuner.candidates(for: large, shapeClass: .skinny).contains { $0.kSplit > 1 }, "the sample reaches split K")
        XCTAssertEqual(GemmAutotuner.shapeClasses(for: large), [.square, .skinny])
    }

    /// An untuned GPU gets the preferred default only where it can launch it: a 32 KiB local memory
    /// (Apple, Mali, Adreno) drops double buffering, a 64-item work-group limit gets 8 × 8 items, and a
    /// tiny device the 16-item minimum. Each choice is valid and runnable on its device.
    func testUntunedDefaultsFitTheDevice() throws {
        var singleBuffered = GemmTuning.gpuSquareDefault
        singleBuffered.doubleBuffer = false
        let squareChain = GemmTuning.gpuFallbacks(from: .gpuSquareDefault)
        let skinnyChain = GemmTuning.gpuFallbacks(from: .gpuSkinnyDefault)
        let expectations: [(device: OpenCLDeviceInfo, square: GemmTuning, skinny: GemmTuning)] = [
            (Self.fakeGPU(localMemory: 48 * 1024, maxWorkGroup: 1024), .gpuSquareDefault, .gpuSkinnyDefault),
            (Self.fakeGPU(localMemory: 32 * 1024, maxWorkGroup: 1024), singleBuffered, .gpuSkinnyDefault),
            (Self.fakeGPU(localMemory: 64 * 1024, maxWorkGroup: 64), squareChain[2], skinnyChain[2]),
            (Self.fakeGPU(localMemory: 4 * 1024, maxWorkGroup: 16), squareChain[3], skinnyChain[3]),
        ]
        XCTAssertGreaterThan(GemmTuning.gpuSquareDefault.tiledLocalMemoryBytes, 32 * 1024, "the case the chain exists for")
        for (device, square, skinny) in expectations {
            let label = "\(device.localMemoryBytes / 1024) KiB, \(device.maxWorkGroupSize) items"
            XCTAssertEqual(GemmTuning.defaults(for: device, shapeClass: .square), square, label)
            XCTAssertEqual(GemmTuning.defaults(for: device, shapeClass: .skinny), skinny, label)
            for tuning in [square, skinny] {
                XCTAssertNoThrow(try tuning.validate(), "\(tuning)")
                XCTAssertTrue(tuning.isRunnable(on: device), "\(tuning) on \(label)")
            }
            XCTAssertEqual(skinny.kSplit, GemmTuning.gpuSkinnyDefault.kSplit, "a fallback keeps split K")
        }
    }

    /// A tuning the device cannot launch is refused when the backend opens, naming the limit, instead
    /// of failing the first large product with CL_OUT_OF_RESOURCES.
    func testBackendRefusesATuningBeyondTheDeviceLimits() throws {
        let device = try XCTUnwrap(try OpenCLBackend.availableDevices().first)
        // 1024 × 1024 tiles with k steps of 64, double-buffered: 1 MiB of local memory, past any device's.
        let huge = GemmTuning(family: .tiled, mwg: 1024, nwg: 1024, kwg: 64, mdimc: 32, ndimc: 32, vwm: 4, vwn: 4)
        XCTAssertNoThrow(try huge.validate(), "valid in itself")
        XCTAssertGreaterThan(UInt64(huge.tiledLocalMemoryBytes), device.localMemoryBytes)
        XCTAssertFalse(huge.isRunnable(on: device))
        XCTAssertThrowsError(try OpenCLBackend(deviceSelector: "0", gemmTuning: huge)) { error in
            guard case let NNError.invalidArgument(op, detail) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(op, "GEMM tuning")
            XCTAssertTrue(detail.contains("\(huge.tiledLocalMemoryBytes) bytes of local memory"), detail)
            XCTAssertTrue(detail.contains("nn devices --tune"), detail)
        }
    }

    /// CPU drivers keep their vector search and one tuning for every shape.
    func testCpuSearchIsUnchanged() throws {
        let device = try XCTUnwrap(try OpenCLBackend.availableDevices().first { $0.type == .cpu }
                                   ?? { throw XCTSkip("no CPU OpenCL device") }())
        XCTAssertEqual(GemmAutotuner.shapeClasses(for: device), [.square])
        let candidates = GemmAutotuner.candidates(for: device)
        XCTAssertTrue(candidates.allSatisfy { $0.family == .vector })
        XCTAssertEqual(GemmAutotuner.candidates(for: device, shapeClass: .skinny), candidates)
        XCTAssertEqual(GemmTuning.defaults(for: device, shapeClass: .skinny), GemmTuning.defaults(for: device))
    }

    /// Shape classes have their own cache entries; a version-1 file (before classes) reads as empty
    /// without a warning, a file from a newer format with one, and either is replaced by the next store.
    func testCacheKeysShapeClassesAndRefusesOtherFormats() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnn-tiled-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let warnings = Warnings()
        let cache = GemmTuningCache(url: directory.appendingPathComponent("gemm-tuning.json"), warn: { warnings.append($0) })
        let gpu = Self.fakeGPU(localMemory: 48 * 1024, maxWorkGroup: 1024)
        let skinny = Self.representativeTunings[3]
        try cache.store(GemmTuning.gpuSquareDefault, gflops: 2, for: GemmTuningCache.Key(gpu, shapeClass: .square))
        try cache.store(skinny, gflops: 1, for: GemmTuningCache.Key(gpu, shapeClass: .skinny))
        XCTAssertEqual(GemmAutotuner.cachedTuning(for: gpu, shapeClass: .square, cache: cache), GemmTuning.gpuSquareDefault)
        XCTAssertEqual(GemmAutotuner.cachedTuning(for: gpu, shapeClass: .skinny, cache: cache), skinny)
        XCTAssertEqual(cache.entry(for: GemmTuningCache.Key(gpu, shapeClass: .skinny))?.shapeClass, .skinny)

        let version1 = """
            {"version": 1, "entries": {"Fake GPU | 1.0 | gemm.cl 0123": {"device": "Fake GPU", "driverVersion": "1.0",
            "kernelSourceHash": "0123", "gflops": 1, "tunedAt": "2026-01-01T00:00:00Z",
            "tuning": {"family": "tiled", "mr": 8, "vectorWidth": 16, "vectorsPerRow": 2, "narrowRows": 16, "packA": false,
                       "mwg": 64, "nwg": 64, "kwg": 16, "mdimc": 16, "ndimc": 16}}}}
            """
        try Data(version1.utf8).write(to: cache.url)
        XCTAssertNil(GemmAutotuner.cachedTuning(for: gpu, shapeClass: .square, cache: cache))
        XCTAssertTrue(warnings.messages.isEmpty, "an older format is stale, not broken: \(warnings.messages)")
        try cache.store(skinny, gflops: 1, for: GemmTuningCache.Key(gpu, shapeClass: .skinny))
        XCTAssertEqual(GemmAutotuner.cachedTuning(for: gpu, shapeClass: .skinny, cache: cache), skinny, "a store replaces it")

        try Data(#"{"version": 99, "entries": {}}"#.utf8).write(to: cache.url)
        XCTAssertNil(GemmAutotuner.cachedTuning(for: gpu, shapeClass: .skinny, cache: cache))
        XCTAssertEqual(warnings.messages.count, 1)
        XCTAssertTrue(warnings.messages.first?.contains("newer") ?? false, "\(warnings.messages)")
    }
}

private final class Warnings: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var messages: [String] { lock.withLock { stored } }
    func append(_ message: String) { lock.withLock { stored.append(message) } }
}
