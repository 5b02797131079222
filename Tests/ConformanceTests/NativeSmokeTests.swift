import NNCore
import NNNative
import XCTest

/// Quick checks of the native backend's trickiest paths against Float64 loops written here.
/// The full op-by-op conformance suite lives in the other files of this target.
final class NativeSmokeTests: XCTestCase {
    /// Every transpose combination over sizes that straddle the register tiles (1, primes,
    /// multiples ± 1, k across several KC slices, m across several MC blocks, and two products
    /// large enough to be split across threads, by rows and by columns), with α/β and with
    /// β = 0 over a C full of NaN; on every register tile and thread count, which must all agree
    /// bit for bit (each element sums its products in the same order).
    func testGemmMatchesFloat64ReferenceOnOddShapes() throws {
        let shapes = [(1, 1, 1), (7, 5, 3), (17, 33, 9), (5, 33, 260), (300, 5, 7), (40, 70, 96), (20, 130, 101)]
        let backends = [NativeBackend(threads: 1), NativeBackend(threads: 2)]
        for (m, n, k) in shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for (alpha, beta) in [(Float(1), Float(0)), (Float(-0.5), Float(2))] where m * n * k < 1 << 18 || beta != 0 {
                    let av = HostGemm.values(m * k, seed: 1), bv = HostGemm.values(k * n, seed: 2)
                    let cv = beta == 0 ? [Float](repeating: .nan, count: m * n) : HostGemm.values(m * n, seed: 3)
                    let want = HostGemm.reference(av, ta, bv, tb, cv, m: m, n: n, k: k, alpha: Double(alpha), beta: Double(beta))
                    var first: [Float]?
                    // Debug builds run SIMD code slowly, so the two threaded shapes use the default tile only.
                    let threaded = m * n * k >= 1 << 18
                    for backend in backends {
                        for tile in threaded ? [backend.gemmTile] : GemmTile.allCases {
                            backend.gemmTile = tile
                            let a = try backend.makeTensor(av, shape: ta ? Shape(k, m) : Shape(m, k))
                            let b = try backend.makeTensor(bv, shape: tb ? Shape(n, k) : Shape(k, n))
                            let c = try backend.makeTensor(cv, shape: Shape(m, n))
                            try backend.gemm(a, transposeA: ta, b, transposeB: tb, into: c, alpha: alpha, beta: beta)
                            let got = try backend.download(c)
                            let context = "gemm \(m)×\(n)×\(k) tA=\(ta) tB=\(tb) α=\(alpha) β=\(beta) threads=\(backend.threads) tile=\(tile)"
                            if let first {
                                XCTAssertEqual(got.map(\.bitPattern), first.map(\.bitPattern), "\(context) differs from the first tile/thread count")
                                continue
                            }
                            first = got
                            // Float32 dot products of k terms in [-1, 1]: rounding error at most ~k·2⁻²⁴·Σ|aᵢbᵢ|
                            // ≤ 260·6e-8 ≈ 2e-5 (far less in practice); 3e-5 leaves room for the β·C term.
                            for i in 0..<(m * n) {
                                XCTAssertEqual(Double(got[i]), want[i], accuracy: 3e-5 + 1e-5 * abs(want[i]), "\(context) at \(i)")
                            }
                        }
                    }
                }
            }
        }
    }

    func testFloat64GemmIsDoublePrecise() throws {
        let backend = NativeBackend(precision: .float64, threads: 2)
        let (m, n, k) = (19, 23, 41)
        let av = HostGemm.values(m * k, seed: 4).map(Double.init), bv = HostGemm.values(k * n, seed: 5).map(Double.init)
        let a = try backend.makeTensor(av, shape: Shape(k, m)), b = try backend.makeTensor(bv, shape: Shape(k, n))
        let c = try backend.makeTensor(Shape(m, n))
        try backend.gemm(a, transposeA: true, b, transposeB: false, into: c, alpha: 1, beta: 0)
        let got = try backend.downloadDouble(c)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += av[p * m + i] * bv[p * n + j] }
                // Double sums of 41 terms of size ≤ 1: error ≤ 41·2⁻⁵³ ≈ 5e-15.
                XCTAssertEqual(got[i * n + j], s, accuracy: 1e-13)
            }
        }
    }

    /// 100,000 rows with mean 1000 and spread 1: a one-pass Float variance would be garbage.
    func testBatchNormStatisticsStayAccurateOverManyRows() throws {
        let backend = NativeBackend(threads: 2)
        let m = 100_000
        let column = (0..<m).map { Float(1000 + ($0 % 2 == 0 ? 1 : -1)) }
        let x = try backend.makeTensor(column, shape: Shape(m, 1))
        let gamma = try backend.makeTensor([Float(1)], shape: .vector(1)), beta = try backend.makeTensor([Float(0)], shape: .vector(1))
        let rm = try backend.makeTensor(Shape.vector(1)), rv = try backend.makeTensor([Float(1)], shape: .vector(1))
        let y = try backend.makeTensor(Shape(m, 1))
        let mean = try backend.makeTensor(Shape.vector(1)), inv = try backend.makeTensor(Shape.vector(1))
        try backend.batchNormForwardTraining(x, gamma: gamma, beta: beta, runningMean: rm, runningVariance: rv,
                                             averagingBeta: 0.9, epsilon: 1e-5, output: y, savedMean: mean, savedInverseStd: inv)
        // Mean exactly 1000 and variance exactly 1, so the only errors are Float rounding (~1e-7 relative).
        XCTAssertEqual(try backend.scalar(mean), 1000, accuracy: 1e-4)
        XCTAssertEqual(try backend.scalar(inv), Float(1 / (1 + 1e-5).squareRoot()), accuracy: 1e-6)
        // Running variance uses the unbiased estimate m/(m−1).
        XCTAssertEqual(try backend.scalar(rv), Float(0.9 + 0.1 * Double(m) / Double(m - 1)), accuracy: 1e-6)
        let out = try backend.download(y)
        XCTAssertEqual(out[0], 1, accuracy: 1e-4)
        XCTAssertEqual(out[1], -1, accuracy: 1e-4)
    }

    func testSoftmaxCrossEntropyIsFiniteForHugeLogits() throws {
        let backend = NativeBackend(threads: 1)
        let logits = try backend.makeTensor([Float](arrayLiteral: 1000, 0, -1000, 0, 0, 0), shape: Shape(2, 3))
        let labels = try backend.makeTensor([Float](arrayLiteral: 1, 2), shape: Shape(2, 1))
        let grad = try backend.makeTensor(Shape(2, 3)), loss = try backend.makeTensor(Shape.scalar)
        try backend.softmaxCrossEntropy(logits, labels: labels, gradient: grad, loss: loss)
        // Row 0: −log ŷ₁ = 1000 exactly (ŷ₁ = e⁻¹⁰⁰⁰ underflows, log-sum-exp does not); row 1: log 3.
        XCTAssertEqual(Double(try backend.scalar(loss)), (1000 + log(3.0)) / 2, accuracy: 1e-3)
        let g = try backend.download(grad)
        let third = Float(1.0 / 3 / 2)
        let want: [Float] = [0.5, -0.5, 0, third, third, third - 0.5]
        for i in 0..<6 { XCTAssertEqual(g[i], want[i], accuracy: 1e-6, "gradient \(i)") }

        try backend.upload([Float](arrayLiteral: 0, 7), to: labels)
        try backend.softmaxCrossEntropy(logits, labels: labels, gradient: grad, loss: loss)
        XCTAssertTrue(try backend.scalar(loss).isNaN, "a label outside 0..<C must give a NaN loss")
    }

    func testDropoutMaskIsPhiloxBitForBit() throws {
        let backend = NativeBackend(threads: 2)
        let count = 70_001  // large enough to split across threads, odd so the last block is partial
        let x = try backend.makeTensor([Float](repeating: 2, count: count), shape: Shape(1, count))
        let mask = try backend.makeTensor(Shape(1, count)), y = try backend.makeTensor(Shape(1, count))
        let keep: Float = 0.8
        try backend.dropoutForward(x, keepProbability: keep, seed: 0xDEAD_BEEF_1234, offset: 77, mask: mask, output: y)
        let got = try backend.download(mask), out = try backend.download(y)
        var kept = 0
        for i in 0..<count {
            let expected: Float = Philox.uniform(seed: 0xDEAD_BEEF_1234, offset: 77, index: i) < keep ? 1 / keep : 0
            XCTAssertEqual(got[i].bitPattern, expected.bitPattern, "mask element \(i)")
            XCTAssertEqual(out[i].bitPattern, (2 * expected).bitPattern, "output element \(i)")
            if expected != 0 { kept += 1 }
        }
        // 70,001 Bernoulli(0.8) draws: standard deviation ≈ 106, so ±1,000 is a ~9σ bound.
        XCTAssertEqual(Double(kept), 0.8 * Double(count), accuracy: 1000)
    }

    func testColumnSumsIgnoreOldContentsWhenBetaIsZero() throws {
        let backend = NativeBackend(threads: 1)
        let x = try backend.makeTensor([Float](arrayLiteral: 1, 2, 3, 4, 5, 6), shape: Shape(2, 3))
        let out = try backend.makeTensor([Float](repeating: .nan, count: 3), shape: .vector(3))
        try backend.columnSums(x, into: out, alpha: 2, beta: 0)
        XCTAssertEqual(try backend.download(out), [10, 14, 18])
        try backend.columnSums(x, into: out, alpha: 1, beta: 1)
        XCTAssertEqual(try backend.download(out), [15, 21, 27])
    }

    func testTensorOfTheOtherPrecisionIsRejected() throws {
        let single = NativeBackend(precision: .float32), double = NativeBackend(precision: .float64)
        let t = try double.makeTensor(Shape(2, 2))
        XCTAssertThrowsError(try single.fill(t, with: 1)) { error in
            guard case NNError.foreignTensor = error else { return XCTFail("expected foreignTensor, got \(error)") }
        }
        XCTAssertThrowsError(try single.makeTensor(Shape(0, 3))) { error in
            XCTAssertEqual(error as? NNError, .emptyTensor(op: "makeTensor", shape: Shape(0, 3)))
        }
    }
}
