import NNConformance
import NNCore
import NNOpenCL
import XCTest

/// Quick checks of the OpenCL backend against plain Float64 loops, for the backend's own development.
/// The cross-backend suite (the other files here) is the full contract; this file covers what is
/// specific to the OpenCL implementation: both GEMM kernel families and their edge paths, Philox
/// bit-exactness, long-reduction accuracy, the error-name table and device selection.
final class OpenCLSmokeTests: XCTestCase {
    /// An OpenCL backend, or a test failure naming why none could be opened (a skip only when
    /// NN_SKIP_OPENCL=1 is set explicitly, never silently).
    private func openBackend(gemmTuning: GemmTuning? = nil, memoryKernels: MemoryKernelFamily? = nil) throws -> OpenCLBackend {
        try openCLOrSkip { try OpenCLBackend(deviceSelector: nil, gemmTuning: gemmTuning, memoryKernels: memoryKernels) }
    }

    private func randomValues(_ count: Int, seed: UInt64, range: ClosedRange<Float> = -1...1) -> [Float] {
        var generator = TestRandom(seed: seed)
        return (0..<count).map { _ in Float.random(in: range, using: &generator) }
    }

    func testGemmBothFamiliesAllTransposesAndEdges() throws {
        let vector = try openBackend()
        let tiled = try openBackend(gemmTuning: GemmTuning(family: .tiled))
        // Odd register blocks, A packed, a narrow-row count that does not divide m: every edge path.
        let packed = try openBackend(gemmTuning: GemmTuning(family: .vector, mr: 6, vectorWidth: 8, vectorsPerRow: 3,
                                                            narrowRows: 5, packA: true))
        // (m, n, k): single element, N within one vector (the narrow kernel, whose last rows of B are read
        // lane by lane), primes below and across every tile size, and a k below one tile.
        let shapes = [(1, 1, 1), (7, 13, 5), (33, 10, 17), (67, 45, 33), (9, 70, 3)]
        for backend in [vector, tiled, packed] {
            for (m, n, k) in shapes {
                for transposeA in [false, true] {
                    for transposeB in [false, true] {
                        for (alpha, beta) in [(Float(1.5), Float(0)), (Float(-0.5), Float(0.25))] {
                            let aValues = randomValues(m * k, seed: UInt64(m * 31 + k))
                            let bValues = randomValues(k * n, seed: UInt64(n * 17 + k))
                            let cValues = beta == 0 ? [Float](repeating: .nan, count: m * n) : randomValues(m * n, seed: 5)
                            let a = try backend.makeTensor(aValues, shape: transposeA ? Shape(k, m) : Shape(m, k))
                            let b = try backend.makeTensor(bValues, shape: transposeB ? Shape(n, k) : Shape(k, n))
                            let c = try backend.makeTensor(cValues, shape: Shape(m, n))
                            try backend.gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: alpha, beta: beta)
                            let got = try backend.download(c)
                            for i in 0..<m {
                                for j in 0..<n {
                                    var exact = 0.0, magnitude = 0.0
                                    for p in 0..<k {
                                        let av = Double(transposeA ? aValues[p * m + i] : aValues[i * k + p])
                                        let bv = Double(transposeB ? bValues[j * k + p] : bValues[p * n + j])
                                        exact += av * bv
                                        magnitude += abs(av * bv)
                                    }
                                    let old = beta == 0 ? 0 : Double(beta) * Double(cValues[i * n + j])
                                    exact = Double(alpha) * exact + old
                                    // Float32 accumulation of k products: |error| ≤ k·2⁻²⁴·Σ|aᵢbᵢ| (times |α|),
                                    // plus one rounding of the result; doubled for the β term's rounding.
                                    let bound = 2 * (Double(k) * 0x1p-24 * magnitude * Double(abs(alpha)) + 0x1p-23 * abs(exact)) + 1e-7
                                    XCTAssertLessThanOrEqual(abs(Double(got[i * n + j]) - exact), bound,
                                        "\(backend.gemmTuning) m=\(m) n=\(n) k=\(k) tA=\(transposeA) tB=\(transposeB) β=\(beta) at (\(i),\(j))")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func testDropoutMaskIsBitIdenticalToPhilox() throws {
        let backend = try openBackend()
        let count = 1031   // not a multiple of 4: the last Philox block is partial
        let keep: Float = 0.7
        let seed: UInt64 = 0x1234_5678_9ABC_DEF0, offset: UInt64 = 0xFFFF_FFFF - 100   // the counter crosses 2³²
        let x = try backend.makeTensor([Float](repeating: 2, count: count), shape: Shape(1, count))
        let mask = try backend.makeTensor(Shape(1, count))
        let y = try backend.makeTensor(Shape(1, count))
        try backend.dropoutForward(x, keepProbability: keep, seed: seed, offset: offset, mask: mask, output: y)
        let gotMask = try backend.download(mask), gotY = try backend.download(y)
        for i in 0..<count {
            let expected: Float = Philox.uniform(seed: seed, offset: offset, index: i) < keep ? 1 / keep : 0
            XCTAssertEqual(gotMask[i].bitPattern, expected.bitPattern, "mask element \(i)")
            XCTAssertEqual(gotY[i].bitPattern, (2 * expected).bitPattern, "output element \(i)")
        }
    }

    func testLongColumnStatisticsStayAccurate() throws {
      for family in MemoryKernelFamily.allCases {
        let backend = try openBackend(memoryKernels: family)
        let m = 100_000, n = 2
        // Column 0: 1e4 + noise in [-1, 1] (variance 1/3) — a single-pass float Σx² would lose it entirely.
        var values = [Float](repeating: 0, count: m * n)
        let noise = randomValues(m * n, seed: 9)
        for i in 0..<m {
            values[i * n] = 10_000 + noise[i * n]
            values[i * n + 1] = noise[i * n + 1]
        }
        let x = try backend.makeTensor(values, shape: Shape(m, n))
        let ones = try backend.makeTensor([Float](repeating: 1, count: n), shape: .vector(n))
        let zeros = try backend.makeTensor(Shape.vector(n))
        let runMean = try backend.makeTensor(Shape.vector(n)), runVar = try backend.makeTensor([Float](repeating: 1, count: n), shape: .vector(n))
        let y = try backend.makeTensor(Shape(m, n))
        let mean = try backend.makeTensor(Shape.vector(n)), invStd = try backend.makeTensor(Shape.vector(n))
        try backend.batchNormForwardTraining(x, gamma: ones, beta: zeros, runningMean: runMean, runningVariance: runVar,
                                             averagingBeta: 0.9, epsilon: 1e-5, output: y, savedMean: mean, savedInverseStd: invStd)
        let sums = try backend.makeTensor(Shape.vector(n))
        try backend.columnSums(x, into: sums, alpha: 1, beta: 0)
        let total = try backend.makeTensor(Shape.scalar)
        try backend.reduce(.sum, x, into: total, accumulate: false)

        for j in 0..<n {
            let column = (0..<m).map { Double(values[$0 * n + j]) }
            let exactMean = column.reduce(0, +) / Double(m)
            let exactVar = column.reduce(0) { $0 + ($1 - exactMean) * ($1 - exactMean) } / Double(m)
            // Kahan-compensated float sums: relative error a few ulps (2⁻²⁴ ≈ 6e-8); 1e-6 leaves margin
            // yet fails a naive float sum of 10⁵ terms (error ~ 10⁵·2⁻²⁴ ≈ 6e-3 relative, worst case).
            XCTAssertEqual(Double(try backend.download(mean)[j]), exactMean, accuracy: 1e-6 * max(1, abs(exactMean)), "mean \(j)")
            XCTAssertEqual(Double(try backend.download(sums)[j]), exactMean * Double(m), accuracy: 1e-6 * abs(exactMean * Double(m)) + 1e-2, "sum \(j)")
            // 1/σ from a two-pass variance: the deviations are exact to float rounding of x itself.
            XCTAssertEqual(Double(try backend.download(invStd)[j]), 1 / (exactVar + 1e-5).squareRoot(), accuracy: 1e-4, "invStd \(j)")
        }
        let exactTotal = values.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(Double(try backend.scalar(total)), exactTotal, accuracy: 1e-6 * abs(exactTotal))
      }
    }

    func testSoftmaxCrossEntropyAndArgmax() throws {
      for family in MemoryKernelFamily.allCases {
        let backend = try openBackend(memoryKernels: family)
        for (m, c) in [(3, 4), (5, 130)] {   // both row work-group shapes (narrow and wide)
            var logits = randomValues(m * c, seed: UInt64(c), range: -5...5)
            logits[0] = 1e4; logits[1] = -1e4   // must stay finite after max subtraction
            let labels = (0..<m).map { Float(($0 * 7) % c) }
            let z = try backend.makeTensor(logits, shape: Shape(m, c))
            let l = try backend.makeTensor(labels, shape: Shape(m, 1))
            let grad = try backend.makeTensor(Shape(m, c)), loss = try backend.makeTensor(Shape.scalar)
            try backend.softmaxCrossEntropy(z, labels: l, gradient: grad, loss: loss)
            let g = try backend.download(grad)
            var expectedLoss = 0.0
            for i in 0..<m {
                let row = (0..<c).map { Double(logits[i * c + $0]) }
                let mx = row.max() ?? 0
                let sum = row.reduce(0) { $0 + Foundation.exp($1 - mx) }
                expectedLoss += Foundation.log(sum) - (row[Int(labels[i])] - mx)
                for j in 0..<c {
                    let p = Foundation.exp(row[j] - mx) / sum
                    let expected = (p - (j == Int(labels[i]) ? 1 : 0)) / Double(m)
                    // exp/log in float: a few ulps of relative error on values ≤ 1/m.
                    XCTAssertEqual(Double(g[i * c + j]), expected, accuracy: 1e-6, "grad (\(i),\(j)) of \(m)×\(c)")
                }
            }
            XCTAssertEqual(Double(try backend.scalar(loss)), expectedLoss / Double(m), accuracy: 1e-5 * max(1, expectedLoss / Double(m)))

            let ties = try backend.makeTensor((0..<(m * c)).map { Float($0 % 3 == 0 ? 1 : 0) }, shape: Shape(m, c))
            let out = try backend.makeTensor(Shape(m, 1))
            try backend.argmaxRows(ties, into: out)
            let expectedArgmax = (0..<m).map { i in Float((0..<c).first { (i * c + $0) % 3 == 0 } ?? 0) }
            XCTAssertEqual(try backend.download(out), expectedArgmax, "argmax first on ties, \(m)×\(c)")
        }
      }
    }

    /// The two row/column kernel families compute the same batch norm and softmax, including a column
    /// block cut short (83 = 64 + 19 features) and rows that are not a whole number of vectors.
    func testMemoryKernelFamiliesAgree() throws {
        let (m, n) = (70, 83)
        let xValues = randomValues(m * n, seed: 21, range: -3...3), dyValues = randomValues(m * n, seed: 22)
        var results: [[[Float]]] = []
        for family in MemoryKernelFamily.allCases {
            let backend = try openBackend(memoryKernels: family)
            let x = try backend.makeTensor(xValues, shape: Shape(m, n)), dy = try backend.makeTensor(dyValues, shape: Shape(m, n))
            let gamma = try backend.makeTensor(randomValues(n, seed: 23), shape: .vector(n)), beta = try backend.makeTensor(randomValues(n, seed: 24), shape: .vector(n))
            let runMean = try backend.makeTensor(Shape.vector(n)), runVar = try backend.makeTensor([Float](repeating: 1, count: n), shape: .vector(n))
            let y = try backend.makeTensor(Shape(m, n)), dx = try backend.makeTensor(Shape(m, n)), soft = try backend.makeTensor(Shape(m, n))
            let mean = try backend.makeTensor(Shape.vector(n)), invStd = try backend.makeTensor(Shape.vector(n))
            let dGamma = try backend.makeTensor(Shape.vector(n)), dBeta = try backend.makeTensor(Shape.vector(n))
            try backend.batchNormForwardTraining(x, gamma: gamma, beta: beta, runningMean: runMean, runningVariance: runVar,
                                                 averagingBeta: 0.9, epsilon: 1e-5, output: y, savedMean: mean, savedInverseStd: invStd)
            try backend.batchNormBackward(x, gradOutput: dy, gamma: gamma, savedMean: mean, savedInverseStd: invStd,
                                          gradInput: dx, gradGamma: dGamma, gradBeta: dBeta)
            try backend.softmax(x, into: soft)
            results.append(try [y, dx, runMean, runVar, dGamma, dBeta, soft].map { try backend.download($0) })
        }
        for (index, name) in ["y", "dx", "running mean", "running variance", "dgamma", "dbeta", "softmax"].enumerated() {
            for (u, v) in zip(results[0][index], results[1][index]) {
                // Same formulas, different summation order (one Kahan chain against chunks; lane-wise
                // against tree sums): a few ulps of the largest terms (|x| ≤ 3, 70 rows).
                XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(u)), name)
            }
        }
    }

    func testAdamStepMatchesFormula() throws {
        let backend = try openBackend()
        let n = 300
        let w0 = randomValues(n, seed: 1), g0 = randomValues(n, seed: 2)
        let w = try backend.makeTensor(w0, shape: Shape(1, n)), g = try backend.makeTensor(g0, shape: Shape(1, n))
        let m = try backend.makeTensor(Shape(1, n)), v = try backend.makeTensor(Shape(1, n))
        var mRef = [Double](repeating: 0, count: n), vRef = [Double](repeating: 0, count: n), wRef = w0.map(Double.init)
        let penalty = WeightPenalty(l2: 0.01, l1: 0.001)
        for step in 1...3 {
            try backend.update(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), learningRate: 0.01, step: step,
                               penalty: penalty, parameter: w, gradient: g, state: [m, v])
            for i in 0..<n {
                let gi = Double(g0[i]) + 0.01 * wRef[i] + 0.001 * (wRef[i] > 0 ? 1 : (wRef[i] < 0 ? -1 : 0))
                mRef[i] = 0.9 * mRef[i] + 0.1 * gi
                vRef[i] = 0.999 * vRef[i] + 0.001 * gi * gi
                let mh = mRef[i] / (1 - Foundation.pow(0.9, Double(step))), vh = vRef[i] / (1 - Foundation.pow(0.999, Double(step)))
                wRef[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        let got = try backend.download(w)
        // Three steps of size ≤ lr = 0.01 each, computed in float: ~1e-7 absolute per step.
        for i in 0..<n { XCTAssertEqual(Double(got[i]), wRef[i], accuracy: 1e-6, "w[\(i)]") }
    }

    func testErrorsNameTheProblem() throws {
        XCTAssertThrowsError(try OpenCLBackend(deviceSelector: "no-such-device-anywhere")) { error in
            guard case let NNError.backendUnavailable(backend, reason) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(backend, "opencl")
            XCTAssertTrue(reason.contains("no-such-device-anywhere"), reason)
        }
        XCTAssertThrowsError(try OpenCLBackend(deviceSelector: "99")) { error in
            guard case NNError.backendUnavailable = error else { return XCTFail("got \(error)") }
        }
        let backend = try openBackend()
        XCTAssertThrowsError(try backend.makeTensor(Shape(0, 3))) { error in
            XCTAssertEqual(error as? NNError, .emptyTensor(op: "makeTensor", shape: Shape(0, 3)))
        }
        let a = try backend.makeTensor(Shape(2, 3)), b = try backend.makeTensor(Shape(2, 3))
        XCTAssertThrowsError(try backend.gemm(a, transposeA: false, b, transposeB: false, into: a, alpha: 1, beta: 0)) { error in
            guard case NNError.shapeMismatch(op: "gemm", _) = error else { return XCTFail("got \(error)") }
        }
        let devices = try OpenCLBackend.availableDevices()
        XCTAssertFalse(devices.isEmpty)
        XCTAssertEqual(devices.map(\.index), Array(devices.indices))
        XCTAssertEqual(try OpenCLBackend(deviceSelector: "0").device, devices[0])
    }

    /// The autotuner's cache in a temporary file: a stored winner reads back for its own key only (another
    /// driver or kernel source must not reuse it), a second device's entry leaves the first in place, and a
    /// corrupt file reads as empty with a warning, and is replaced by the next store.
    func testGemmTuningCacheRoundTripAndInvalidation() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnn-tuning-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let warnings = WarningLog()
        let cache = GemmTuningCache(url: directory.appendingPathComponent("gemm-tuning.json"), warn: { warnings.append($0) })

        let key = GemmTuningCache.Key(device: "Test Device", driverVersion: "1.0", kernelSourceHash: "abc")
        let tuned = GemmTuning(family: .vector, mr: 4, vectorWidth: 8, vectorsPerRow: 3, narrowRows: 6, packA: true)
        XCTAssertNil(cache.entry(for: key), "a missing file is an empty cache")
        try cache.store(tuned, gflops: 12.5, for: key, at: Date(timeIntervalSince1970: 1_700_000_000))
        let entry = try XCTUnwrap(cache.entry(for: key))
        XCTAssertEqual(entry.tuning, tuned)
        XCTAssertEqual(entry.gflops, 12.5)
        XCTAssertEqual(entry.tunedAt, Date(timeIntervalSince1970: 1_700_000_000))
        XCTAssertNil(cache.entry(for: GemmTuningCache.Key(device: "Test Device", driverVersion: "1.1", kernelSourceHash: "abc")),
                     "a driver update must invalidate the tuning")
        XCTAssertNil(cache.entry(for: GemmTuningCache.Key(device: "Test Device", driverVersion: "1.0", kernelSourceHash: "abd")),
                     "a kernel source change must invalidate the tuning")

        // A real device: nothing cached until stored, then the autotuner's lookup returns the winner.
        let device = try XCTUnwrap(try OpenCLBackend.availableDevices().first)
        XCTAssertNil(GemmAutotuner.cachedTuning(for: device, cache: cache))
        let defaults = GemmTuning.defaults(for: device)
        try cache.store(defaults, gflops: 1, for: GemmTuningCache.Key(device))
        XCTAssertEqual(GemmAutotuner.cachedTuning(for: device, cache: cache), defaults)
        XCTAssertEqual(cache.entry(for: key)?.tuning, tuned, "storing one device keeps the others")
        XCTAssertTrue(warnings.messages.isEmpty, "\(warnings.messages)")

        try Data("{ \"version\": 1, \"entries\": [trunc".utf8).write(to: cache.url)
        XCTAssertNil(cache.entry(for: key))
        XCTAssertNil(GemmAutotuner.cachedTuning(for: device, cache: cache))
        XCTAssertEqual(warnings.messages.count, 2)
        XCTAssertTrue(warnings.messages.allSatisfy { $0.contains(cache.url.path) && $0.contains("cannot be read") }, "\(warnings.messages)")
        try cache.store(tuned, gflops: 3, for: key)
        XCTAssertEqual(cache.entry(for: key)?.tuning, tuned, "a store replaces a corrupt cache")
    }
}

/// Collects the tuning cache's warnings (the callback is `@Sendable`).
private final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var messages: [String] { lock.withLock { stored } }
    func append(_ message: String) { lock.withLock { stored.append(message) } }
}
