import Foundation
import NNCore

/// columnSums and the whole-tensor reductions (Σx, Σx², Σ|x|), with and without accumulation.
enum ReductionCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(.algebra, "columnSums", columnSums),
        ConformanceCase(.algebra, "reduce", reduce),
    ]

    private static let shapes = [Shape(1, 1), Shape(7, 13), Shape(257, 129), Shape(100_000, 1)]

    static func columnSums(_ b: ConformanceContext) throws {
        for shape in shapes {
            var rng = TestRandom(seed: 51 + UInt64(shape.count))
            // The 10⁵-row column is 1e4 + N(0, 1): its running float sum reaches 1e9, where one ulp
            // is 64, so a naive running float sum errs by ~10⁻⁴ relative — far outside the bound
            // below — while pairwise, blocked or Double-accumulated sums stay well inside it.
            let x = shape.rows >= 100_000 ? rng.normal(shape.count, mean: 1e4, sd: 1) : rng.uniform(shape.count, 0.5, 1.5)
            let old = rng.normal(shape.columns)
            let sums = Reference.columnSums(x, rows: shape.rows, columns: shape.columns)
            let absSums = Reference.columnSums(x.map(abs), rows: shape.rows, columns: shape.columns)
            for (alpha, beta) in [(Float(1), Float(0)), (Float(-0.5), Float(2))] {
                let a = Double(alpha), bt = Double(beta)
                let expected = (0..<shape.columns).map { a * sums[$0] + (beta == 0 ? 0 : bt * old[$0]) }
                // Summation over m rows (c(m)·u·Σ|x|, see summationFactor), then α·s + β·out: three
                // roundings on magnitudes |α|·Σ|x| and |β·out|.
                let atol = (0..<shape.columns).map { j in
                    (summationFactor(shape.rows) + 3) * b.u * (abs(a) * absSums[j] + abs(bt * old[j]))
                }
                let out = try b.tensor(1, shape.columns, beta == 0 ? [Double](repeating: .nan, count: shape.columns) : old)
                try b.backend.columnSums(try b.tensor(shape.rows, shape.columns, x), into: out, alpha: alpha, beta: beta)
                assertClose(try b.values(out), expected, Tolerance(perElementAtol: atol),
                            "columnSums \(shape) α=\(alpha) β=\(beta)" + (beta == 0 ? " (out filled with NaN)" : ""), on: b)
            }
        }
    }

    static func reduce(_ b: ConformanceContext) throws {
        for shape in shapes {
            var rng = TestRandom(seed: 61 + UInt64(shape.count))
            let x = rng.normal(shape.count, mean: 0.25, sd: 1)
            let tx = try b.tensor(shape.rows, shape.columns, x)
            for reduction in Reduction.allCases {
                let terms = x.map { Reference.apply(reduction, $0) }
                let exact = Reference.sum(terms)
                let absTotal = Reference.sum(terms.map(abs))
                for accumulate in [false, true] {
                    let start = 3.25
                    let out = try b.tensor(1, 1, [accumulate ? start : .nan])
                    try b.backend.reduce(reduction, tx, into: out, accumulate: accumulate)
                    let expected = accumulate ? start + exact : exact
                    // c(n)·u·Σ|f(x)| for the sum of n terms (plus u·Σ|x²| for squaring), and one
                    // more rounding on the running total when accumulating.
                    let atol = (summationFactor(shape.count) + 1) * b.u * absTotal + (accumulate ? b.u * (start + absTotal) : 0)
                    assertClose(try b.values(out), [expected], Tolerance(atol: atol),
                                "reduce \(reduction) \(shape) accumulate=\(accumulate)", on: b)
                }
            }
        }
    }
}
