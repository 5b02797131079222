import XCTest
import NNTune

final class NiceScaleTests: XCTestCase {
    func testRangesSnapOutwardToRoundSteps() {
        let accuracy = NiceScale(covering: 87.3, 88.9)
        XCTAssertEqual(accuracy.step, 0.5)
        XCTAssertEqual(accuracy.ticks.map { accuracy.label($0, suffix: " %") }, ["87.0 %", "87.5 %", "88.0 %", "88.5 %", "89.0 %"])
        let loss = NiceScale(covering: 0.29, 0.94)
        XCTAssertEqual(loss.ticks.map { loss.label($0) }, ["0.2", "0.4", "0.6", "0.8", "1.0"])
        let wide = NiceScale(covering: 14, 97)
        XCTAssertEqual(wide.ticks.map { wide.label($0) }, ["0", "20", "40", "60", "80", "100"])
    }

    func testValuesOnATickAddNoStepAndPrintWithoutFloatingPointNoise() {
        let scale = NiceScale(covering: 0.1, 0.30000000000000004)
        XCTAssertEqual(scale.ticks.map { scale.label($0) }, ["0.10", "0.15", "0.20", "0.25", "0.30"])
        XCTAssertEqual(scale.fraction(0.2), 0.5, accuracy: 1e-12)
    }

    func testWholeNumberAxesNeverStepBelowOne() {
        let epochs = NiceScale(covering: 1, 3, maxTicks: 12, minimumStep: 1)
        XCTAssertEqual(epochs.step, 1)
        XCTAssertEqual(epochs.ticks, [1, 2, 3])
        XCTAssertEqual(NiceScale(covering: 1, 64, maxTicks: 12, minimumStep: 1).step, 10)
        XCTAssertEqual(NiceScale(covering: 0.5, 1.5, maxTicks: 12, minimumStep: 1).ticks, [0, 1, 2])
    }

    func testDegenerateInputStillGivesARange() {
        let single = NiceScale(covering: 85, 85)
        XCTAssertLessThan(single.lower, 85)
        XCTAssertGreaterThan(single.upper, 85)
        XCTAssertEqual(NiceScale(covering: .nan, 1).ticks.count, NiceScale(covering: 0, 1).ticks.count)
    }
}
