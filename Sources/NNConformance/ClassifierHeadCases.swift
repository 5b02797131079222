import Foundation
import NNCore

/// softmax, fused softmax + cross-entropy (alone and adding to a pass's totals), fused sigmoid +
/// binary cross-entropy, argmaxRows and counting the rows whose arg-max matches a label.
enum ClassifierHeadCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(.classifierHeads, "softmaxRowsIncludingHugeLogits", softmaxRowsIncludingHugeLogits),
        ConformanceCase(.classifierHeads, "softmaxCrossEntropyLossAndGradient", softmaxCrossEntropyLossAndGradient),
        ConformanceCase(.classifierHeads, "softmaxCrossEntropyAddsToTotals", softmaxCrossEntropyAddsToTotals),
        ConformanceCase(.classifierHeads, "softmaxCrossEntropyOutOfRangeLabelGivesNaNLoss", softmaxCrossEntropyOutOfRangeLabelGivesNaNLoss),
        ConformanceCase(.classifierHeads, "sigmoidCrossEntropyLossAndGradient", sigmoidCrossEntropyLossAndGradient),
        ConformanceCase(.classifierHeads, "argmaxRowsFirstMaximumWins", argmaxRowsFirstMaximumWins),
        ConformanceCase(.classifierHeads, "accumulateArgmaxMatchesCountsExactly", accumulateArgmaxMatchesCountsExactly),
    ]

    /// Logits whose first rows hold entries of ±1e4 (a naive exp overflows to inf/NaN), one row all
    /// −1e4, one with ties at the maximum; the rest N(0, 3²).
    private static func logits(rows m: Int, columns c: Int, seed: UInt64) -> [Double] {
        var rng = TestRandom(seed: seed)
        var x = rng.normal(m * c, sd: 3)
        guard c >= 4, m >= 4 else { return x }
        let huge: [[Double]] = [
            [1e4, 1e4 - 1.5, -1e4, 0],
            [-1e4, -1e4, -1e4, -1e4],
            [-1e4, 1e4, 1e4 - 0.5, 2],
            [5, 5, -1, 5],
        ]
        for (i, row) in huge.enumerated() {
            for j in 0..<c { x[i * c + j] = j < row.count ? row[j] : -1e4 + Double(j) }
        }
        return x
    }

    /// Softmax error per element: exp of (x − max) takes ≤ 3 ulp (OpenCL 1.2), the row sum c(C)·u
    /// relative (terms are positive), the division ≤ 2.5 ulp: rtol = (c(C) + 6)·u. Rounding the
    /// argument x − max perturbs e^(x−max) by |x − max|·u relative, whose absolute effect
    /// |d|·e^(−|d|)·u never exceeds u/e: atol = u.
    private static func softmaxTolerance(columns c: Int, _ u: Double) -> Tolerance {
        Tolerance(atol: u, rtol: (summationFactor(c) + 6) * u)
    }

    // 1000 and 4100 columns are whole float4 vectors: the GPU shape's vector path, with the row in
    // registers (1000) and with 4 floats past what the registers of a 256-item work-group hold (4100).
    private static let shapes = [Shape(1, 1), Shape(1, 6), Shape(7, 13), Shape(257, 10), Shape(65, 129),
                                 Shape(3, 1000), Shape(2, 4100)]

    static func softmaxRowsIncludingHugeLogits(_ b: ConformanceContext) throws {
        for shape in shapes {
            let x = logits(rows: shape.rows, columns: shape.columns, seed: 71 + UInt64(shape.count))
            let expected = Reference.softmax(x, rows: shape.rows, columns: shape.columns)
            let tx = try b.tensor(shape.rows, shape.columns, x)
            let ty = try b.backend.makeTensor(shape)
            try b.backend.softmax(tx, into: ty)
            assertClose(try b.values(ty), expected, softmaxTolerance(columns: shape.columns, b.u), "softmax \(shape)", on: b)
            try b.backend.softmax(tx, into: tx)  // y aliases x
            assertClose(try b.values(tx), expected, softmaxTolerance(columns: shape.columns, b.u),
                        "softmax in place \(shape)", on: b)
        }
    }

    static func softmaxCrossEntropyLossAndGradient(_ b: ConformanceContext) throws {
        for shape in shapes {
            let (m, c) = (shape.rows, shape.columns)
            let x = logits(rows: m, columns: c, seed: 81 + UInt64(shape.count))
            var rng = TestRandom(seed: 82 + UInt64(shape.count))
            var labels = rng.integers(m, below: c)
            if m >= 4, c >= 4 { labels[0] = 2; labels[1] = 3; labels[2] = 1 }  // label at −1e4 below a 1e4 max (loss 2e4), at an all-−1e4 row, at the max
            let gradient = try b.backend.makeTensor(shape)
            let loss = try b.backend.makeTensor(.scalar)
            try b.backend.softmaxCrossEntropy(try b.tensor(m, c, x), labels: try b.tensor(m, 1, labels),
                                              gradient: gradient, loss: loss)
            try checkSoftmaxCrossEntropy(b, logits: x, labels: labels, shape: shape, loss: loss, gradient: gradient,
                                         "softmaxCrossEntropy")
        }
    }

    /// The head with a pass's totals: loss and gradient as the plain op's, lossSum += m·loss, and
    /// correctCount += the rows whose arg-max is their label, exactly, twice over (the totals
    /// accumulate). About half the labels are
    /// the reference arg-max, so the count is far from 0 and from m. A second batch has NaN logits
    /// (never the arg-max) and a row of NaNs (arg-max 0): the count stays exact, the totals' loss NaN.
    static func softmaxCrossEntropyAddsToTotals(_ b: ConformanceContext) throws {
        for shape in shapes {
            let (m, c) = (shape.rows, shape.columns)
            let x = logits(rows: m, columns: c, seed: 231 + UInt64(shape.count))
            var rng = TestRandom(seed: 232 + UInt64(shape.count))
            let labels = halfMatchingLabels(x, rows: m, columns: c, rng: &rng)
            let matches = matchCount(x, labels: labels, rows: m, columns: c)
            let (lossSum, count) = (try b.tensor(1, 1, [5]), try b.tensor(1, 1, [3]))
            let (tx, ty) = (try b.tensor(m, c, x), try b.tensor(m, 1, labels))
            var lossBound = 0.0, expectedLoss = 0.0
            for pass in 1...2 {
                let what = "softmaxCrossEntropy with totals \(shape), pass \(pass)"
                let (gradient, loss) = (try b.backend.makeTensor(shape), try b.backend.makeTensor(.scalar))
                try b.backend.softmaxCrossEntropy(tx, labels: ty, gradient: gradient, loss: loss, lossSum: lossSum, correctCount: count)
                (expectedLoss, lossBound) = try checkSoftmaxCrossEntropy(b, logits: x, labels: labels, shape: shape, loss: loss,
                                                                         gradient: gradient, what)
                assertClose(try b.values(count), [3 + Double(pass) * matches], .exact, "\(what): correct count", on: b)
                // Each pass adds m·loss, off by m times the loss's bound (m is exact), and rounds the
                // sum once, by u of it at most.
                let sumAtol = Double(pass) * (Double(m) * lossBound + b.u * (5 + Double(2 * m) * abs(expectedLoss)))
                assertClose(try b.values(lossSum), [5 + Double(pass * m) * expectedLoss], Tolerance(atol: sumAtol),
                            "\(what): loss sum", on: b)
            }
        }
        // 5 columns and 8 (whole float4 vectors): the OpenCL GPU shape's scalar and vector paths.
        for columns in [5, 8] {
            var x = logits(rows: 6, columns: columns, seed: 241)
            x[0 * columns + 1] = .nan
            x[2 * columns + 0] = .nan
            for j in 0..<columns { x[4 * columns + j] = .nan }
            var rng = TestRandom(seed: 242)
            let labels = halfMatchingLabels(x, rows: 6, columns: columns, rng: &rng)
            let (lossSum, count) = (try b.tensor(1, 1, [0]), try b.tensor(1, 1, [0]))
            try b.backend.softmaxCrossEntropy(try b.tensor(6, columns, x), labels: try b.tensor(6, 1, labels),
                                              gradient: try b.backend.makeTensor(Shape(6, columns)),
                                              loss: try b.backend.makeTensor(.scalar), lossSum: lossSum, correctCount: count)
            assertClose(try b.values(count), [matchCount(x, labels: labels, rows: 6, columns: columns)], .exact,
                        "softmaxCrossEntropy with totals, NaN logits in 6×\(columns): correct count", on: b)
            b.expect(try b.values(lossSum)[0].isNaN, "[\(b.label)] NaN logits in 6×\(columns) must give a NaN loss sum")
        }
    }

    /// Labels that are the reference arg-max in about half the rows and a random class elsewhere.
    private static func halfMatchingLabels(_ x: [Double], rows m: Int, columns c: Int, rng: inout TestRandom) -> [Double] {
        let predicted = Reference.argmaxRows(x, rows: m, columns: c)
        let (wrong, coins) = (rng.integers(m, below: c), rng.integers(m, below: 2))
        return (0..<m).map { coins[$0] == 0 ? predicted[$0] : wrong[$0] }
    }

    private static func matchCount(_ x: [Double], labels: [Double], rows m: Int, columns c: Int) -> Double {
        Double(zip(Reference.argmaxRows(x, rows: m, columns: c), labels).filter { $0 == $1 }.count)
    }

    /// Checks a softmax cross-entropy's loss and gradient against the Float64 reference; returns the
    /// reference loss and the loss's bound, for the totals built on it.
    @discardableResult
    private static func checkSoftmaxCrossEntropy(_ b: ConformanceContext, logits x: [Double], labels: [Double], shape: Shape,
                                                 loss: Tensor, gradient: Tensor, _ what: String) throws -> (Double, Double) {
        let (m, c) = (shape.rows, shape.columns)
        let ref = Reference.softmaxCrossEntropy(x, labels: labels, rows: m, columns: c)
        let expectedLoss = Reference.sum(ref.rowLosses) / Double(m)
        // Row loss (max − z_y) + log Σe^(x−max): a few roundings on |max| + |z_y| + log-sum
        // magnitudes whichever way it is grouped, (c(C) + 6)·u of them; then the mean over m rows.
        var rowBounds = 0.0
        for i in 0..<m {
            let row = x[(i * c)..<((i + 1) * c)]
            let mx = row.max() ?? 0
            rowBounds += (summationFactor(c) + 6) * b.u * (abs(mx) + abs(x[i * c + Int(labels[i])]) + ref.rowLosses[i] + 1)
        }
        let lossAtol = rowBounds / Double(m) + summationFactor(m) * b.u * expectedLoss
        assertClose(try b.values(loss), [expectedLoss], Tolerance(atol: lossAtol), "\(what) loss", on: b)
        // (ŷ − onehot)/m: softmax's error, then subtracting 1 (absolute u) and dividing by m. At a
        // label, ŷ's absolute error (up to softmax's rtol + atol, as ŷ ≤ 1) survives the subtraction
        // of 1 while the result shrinks to 1 − ŷ: for ŷ near 1 a relative bound no longer holds.
        let softmax = softmaxTolerance(columns: c, b.u)
        var atol = [Double](repeating: 2 * b.u / Double(m), count: m * c)
        for i in 0..<m { atol[i * c + Int(labels[i])] = (softmax.rtol + softmax.atolScalar + 2 * b.u) / Double(m) }
        assertClose(try b.values(gradient), ref.gradient, Tolerance(perElementAtol: atol, rtol: softmax.rtol + 2 * b.u),
                    "\(what) gradient", on: b)
        return (expectedLoss, lossAtol)
    }

    /// The protocol's contract for labels outside 0..<C: the loss is NaN (not a crash, not garbage).
    static func softmaxCrossEntropyOutOfRangeLabelGivesNaNLoss(_ b: ConformanceContext) throws {
        for badLabel in [13.0, -1.0] {
            let x = logits(rows: 7, columns: 13, seed: 91)
            var labelRandom = TestRandom(seed: 92)
            var labels = labelRandom.integers(7, below: 13)
            labels[3] = badLabel
            let loss = try b.backend.makeTensor(.scalar)
            try b.backend.softmaxCrossEntropy(try b.tensor(7, 13, x), labels: try b.tensor(7, 1, labels),
                                              gradient: try b.backend.makeTensor(Shape(7, 13)), loss: loss)
            b.expect(try b.values(loss)[0].isNaN, "[\(b.label)] label \(badLabel) of 13 classes must give a NaN loss")
        }
    }

    static func sigmoidCrossEntropyLossAndGradient(_ b: ConformanceContext) throws {
        for m in [1, 7, 257] {
            var rng = TestRandom(seed: 101 + UInt64(m))
            var z = rng.normal(m, sd: 3)
            let extremes: [Double] = [1e4, -1e4, 30, -30, 0]
            for (i, v) in extremes.enumerated() where i < m { z[i] = v }
            var labels = rng.integers(m, below: 2)
            if m >= 4 { labels[0] = 0; labels[1] = 1; labels[2] = 1; labels[3] = 0 }  // losses 1e4, 1e4, ~0, ~0
            let ref = Reference.sigmoidCrossEntropy(z, labels: labels)
            let expectedLoss = Reference.sum(ref.rowLosses) / Double(m)

            let gradient = try b.backend.makeTensor(Shape(m, 1))
            let loss = try b.backend.makeTensor(.scalar)
            try b.backend.sigmoidCrossEntropy(try b.tensor(m, 1, z), labels: try b.tensor(m, 1, labels),
                                              gradient: gradient, loss: loss)
            // softplus(z) − y·z = max(z, 0) + log1p(e^(−|z|)) − y·z: ≤ 8 roundings (exp, log1p at
            // ≤ 3 ulp each) on magnitudes |z| + 1 per row, then the mean over m rows.
            let rowBounds = z.reduce(0.0) { $0 + 8 * b.u * (abs($1) + 1) }
            let lossAtol = rowBounds / Double(m) + summationFactor(m) * b.u * expectedLoss
            assertClose(try b.values(loss), [expectedLoss], Tolerance(atol: lossAtol), "sigmoidCrossEntropy loss m=\(m)", on: b)
            // (σ(z) − y)/m: the sigmoid's 8u relative error, and an absolute u from subtracting y.
            assertClose(try b.values(gradient), ref.gradient, Tolerance(atol: 2 * b.u / Double(m), rtol: 8 * b.u),
                        "sigmoidCrossEntropy gradient m=\(m)", on: b)
        }
    }

    /// The first maximum of each row, over ties, huge values and NaNs (which never win).
    static func argmaxRowsFirstMaximumWins(_ b: ConformanceContext) throws {
        for shape in [Shape(1, 1), Shape(5, 1), Shape(7, 13), Shape(257, 10), Shape(3, 129)] {
            var rng = TestRandom(seed: 111 + UInt64(shape.count))
            var x = rng.integers(shape.count, below: 5).map { $0 - 2 }  // many ties
            if shape.columns >= 4, shape.rows >= 2 {
                for j in 0..<shape.columns { x[j] = -1e4 }  // all tied: index 0
                x[shape.columns + 3] = 1e4
            }
            if shape.columns >= 4, shape.rows >= 5 {
                // NaNs never win: first, among others, and a whole row of them (index 0).
                x[2 * shape.columns] = .nan
                x[3 * shape.columns + 1] = .nan
                for j in 0..<shape.columns { x[4 * shape.columns + j] = .nan }
            }
            let out = try b.backend.makeTensor(Shape(shape.rows, 1))
            try b.backend.argmaxRows(try b.tensor(shape.rows, shape.columns, x), into: out)
            assertClose(try b.values(out), Reference.argmaxRows(x, rows: shape.rows, columns: shape.columns),
                        .exact, "argmaxRows \(shape)", on: b)
        }
    }

    /// The count of rows whose arg-max (first on ties) equals the label, added to what the count
    /// held, twice over: exact, as a count must be. Many ties and labels drawn so that about half
    /// the rows match; a single column always predicts class 0.
    static func accumulateArgmaxMatchesCountsExactly(_ b: ConformanceContext) throws {
        for shape in [Shape(1, 1), Shape(6, 1), Shape(7, 13), Shape(257, 10), Shape(3, 129), Shape(4099, 2)] {
            var rng = TestRandom(seed: 211 + UInt64(shape.count))
            let x = rng.integers(shape.count, below: 5).map { $0 - 2 }
            let labels = halfMatchingLabels(x, rows: shape.rows, columns: shape.columns, rng: &rng)
            let expected = matchCount(x, labels: labels, rows: shape.rows, columns: shape.columns)
            let count = try b.tensor(1, 1, [5])
            let (xs, ys) = (try b.tensor(shape.rows, shape.columns, x), try b.tensor(shape.rows, 1, labels))
            try b.backend.accumulateArgmaxMatches(xs, labels: ys, into: count)
            assertClose(try b.values(count), [5 + expected], .exact, "accumulateArgmaxMatches \(shape)", on: b)
            try b.backend.accumulateArgmaxMatches(xs, labels: ys, into: count)
            assertClose(try b.values(count), [5 + 2 * expected], .exact, "accumulateArgmaxMatches \(shape), twice", on: b)
        }
    }
}
