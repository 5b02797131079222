import NNConformance
import XCTest

/// The NNConformance suite on native (float32 and float64) and OpenCL, one test per op family, so a
/// failure names its family in the test list and its case, element and tolerance in the message.
final class ConformanceSuiteTests: XCTestCase {
    func testAlgebra() { runConformance(.algebra) }
    func testElementwise() { runConformance(.elementwise) }
    func testBatchNorm() { runConformance(.batchNorm) }
    func testClassifierHeads() { runConformance(.classifierHeads) }
    func testDropout() { runConformance(.dropout) }
    func testOptimizers() { runConformance(.optimizers) }
    func testBadInput() { runConformance(.badInput) }

    /// Every family has cases, and case ids are unique (results are reported by id).
    func testEveryFamilyHasCasesAndIDsAreUnique() {
        for family in ConformanceFamily.allCases {
            XCTAssertFalse(ConformanceSuite.cases(in: family).isEmpty, "\(family) has no cases")
        }
        let ids = ConformanceSuite.cases.map(\.id)
        XCTAssertEqual(Set(ids).count, ids.count, "duplicate case ids in \(ids)")
    }
}
