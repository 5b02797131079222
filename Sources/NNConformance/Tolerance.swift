import Foundation
import NNCore

/// An error bound |actual − expected| ≤ atol + rtol·|expected|, where `atol` may differ per element
/// (a gemm or batch-norm bound depends on the magnitudes that went into each element).
///
/// Every tolerance in the suite is derived from the backend's unit roundoff u and the op's rounding
/// error analysis, and the derivation is written next to it.
struct Tolerance: Sendable {
    var atol: [Double]?
    var atolScalar: Double
    var rtol: Double

    static let exact = Tolerance(atol: nil, atolScalar: 0, rtol: 0)

    init(atol: Double = 0, rtol: Double = 0) {
        self.atol = nil
        atolScalar = atol
        self.rtol = rtol
    }

    init(perElementAtol: [Double], rtol: Double = 0) {
        atol = perElementAtol
        atolScalar = 0
        self.rtol = rtol
    }

    private init(atol: [Double]?, atolScalar: Double, rtol: Double) {
        self.atol = atol
        self.atolScalar = atolScalar
        self.rtol = rtol
    }

    func bound(at i: Int, expected: Double) -> Double {
        (atol?[i] ?? atolScalar) + rtol * abs(expected)
    }
}

/// Error-free summation factor for the suite: a reduction over n terms may err by c(n)·u·Σ|terms|
/// with c(n) = ⌈log₂ n⌉ + 4, the worst case of pairwise summation (Higham, *Accuracy and Stability*,
/// §4.2) with slack for the final scaling. Blocked sums and float32 sums accumulated in Double lie
/// well inside it; a naive running float sum is bounded only by n·u and fails the large-n cases.
func summationFactor(_ n: Int) -> Double {
    Double(Int.bitWidth - max(n - 1, 0).leadingZeroBitCount) + 4
}

/// Compares element-wise, reporting the worst offender and how many elements are outside the bound.
/// NaN is expected only where the reference is NaN; infinities must match exactly.
/// The message names the op and shape (`what`), the worst element, got vs expected, and the bound.
func assertClose(_ actual: [Double], _ expected: [Double], _ tolerance: Tolerance,
                 _ what: @autoclosure () -> String, on b: ConformanceContext) {
    guard actual.count == expected.count else {
        return b.fail("[\(b.label)] \(what()): \(actual.count) values, expected \(expected.count)")
    }
    var failures = 0
    var worst: (index: Int, excess: Double)?
    for i in actual.indices {
        let x = actual[i], y = expected[i]
        let ok: Bool
        var excess = Double.infinity
        if y.isNaN {
            ok = x.isNaN
        } else if !y.isFinite {
            ok = x == y
        } else if !x.isFinite {
            ok = false
        } else {
            let bound = tolerance.bound(at: i, expected: y)
            ok = abs(x - y) <= bound
            excess = bound > 0 ? abs(x - y) / bound : .infinity
        }
        if !ok {
            failures += 1
            if worst == nil || excess > worst!.excess { worst = (i, excess) }
        }
    }
    if let w = worst {
        let i = w.index
        let bound = tolerance.bound(at: i, expected: expected[i])
        b.fail("[\(b.label)] \(what()): \(failures) of \(actual.count) elements outside |x − y| ≤ atol + rtol·|y|; "
                + "worst at [\(i)]: got \(actual[i]), expected \(expected[i]), error \(abs(actual[i] - expected[i])), "
                + "allowed \(bound) (rtol \(tolerance.rtol))")
    }
}

/// Asserts that `body` throws an `NNError` matching `matches`, naming the backend on failure.
func assertThrowsNNError(_ what: String, on b: ConformanceContext, _ body: () throws -> Void,
                         matches: (NNError) -> Bool) {
    do {
        try body()
        b.fail("[\(b.label)] \(what): expected an NNError, but the call succeeded")
    } catch let error as NNError {
        b.expect(matches(error), "[\(b.label)] \(what): wrong error case: \(error)")
        b.expect(!error.description.isEmpty, "[\(b.label)] \(what): the error has no description")
    } catch {
        b.fail("[\(b.label)] \(what): threw a non-NNError \(type(of: error)): \(error)")
    }
}
