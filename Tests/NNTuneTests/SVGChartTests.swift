import Foundation
import XCTest
@testable import NNTune

/// The study plots as a person reads them: accuracy in the table's unit (84 %, not 0.84), round
/// ticks, whole epochs, and labels that stay on the canvas without covering each other.
final class SVGChartTests: XCTestCase {
    func testAccuracyPlotsReadInRoundPercent() throws {
        let plots = try writeStudyPlots(epochs: 3)
        let lr = try SVGDocument(plots("dev-accuracy-vs-lr.svg"))
        let yTicks = try XCTUnwrap(lr.yTickColumns.first, "no y-axis tick labels")
        let values = assertRoundTicks(yTicks.sorted { ($0.y ?? 0) > ($1.y ?? 0) }.map(\.content), suffix: " %")
        // The trials score 83.1 … 86.3 %: the axis spans them with whole percents, not fractions of one.
        XCTAssertLessThanOrEqual(values.first ?? .infinity, 83.1)
        XCTAssertGreaterThanOrEqual(values.last ?? -.infinity, 86.3)
        XCTAssertTrue(lr.texts.contains { $0.content == "dev accuracy (%)" }, "the y-axis title names the unit")
        lr.assertReadable()

        let curves = try SVGDocument(plots("learning-curves.svg"))
        assertRoundTicks(try XCTUnwrap(curves.yTickColumns.first).sorted { ($0.y ?? 0) > ($1.y ?? 0) }.map(\.content), suffix: " %")
        curves.assertReadable()
    }

    func testLearningCurvesHaveWholeEpochTicks() throws {
        for epochs in [2, 3, 7, 40] {
            let plots = try writeStudyPlots(epochs: epochs)
            let curves = try SVGDocument(plots("learning-curves.svg"))
            let xTicks = try XCTUnwrap(curves.xTickRows.last, "no epoch tick labels").sorted { ($0.x ?? 0) < ($1.x ?? 0) }.map(\.content)
            XCTAssertTrue(xTicks.allSatisfy { Int($0) != nil }, "\(epochs) epochs: ticks \(xTicks) are not whole epochs")
            let values = assertRoundTicks(xTicks)
            // Round ticks need not land on the first and last epoch, but each end lies within a step of a tick.
            let step = values.count > 1 ? values[1] - values[0] : 1
            XCTAssertTrue(values.first.map { $0 < 1 + step } ?? false && values.last.map { $0 > Double(epochs) - step } ?? false,
                          "\(epochs) epochs: ticks \(xTicks) leave an end of the axis unmarked")
            curves.assertReadable()
        }
    }

    /// A study over lr (log) and keep (linear) with eight completed trials of `epochs` epochs
    /// each; returns a reader of its plot files.
    private func writeStudyPlots(epochs: Int) throws -> (String) throws -> String {
        let dir = try makeTemporaryDirectory("plots")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let store = try StudyStore(path: dir.appendingPathComponent("study.sqlite").path)
        let space = try SearchSpace(["lr": .logUniform(low: 1e-4, high: 1e-1), "keep": .uniform(low: 0.5, high: 0.9)])
        try store.saveConfiguration(StudyConfiguration(space: space, trialsPerRound: 8, rounds: 1, trainArguments: []))
        let finals = [0.8442, 0.8631, 0.8310, 0.8507, 0.8388, 0.8576, 0.8469, 0.8415]
        let assignments: [Assignment] = finals.indices.map { i in
            ["lr": .real(1e-4 * pow(10, Double(i) * 3 / 7)), "keep": .real(0.5 + 0.05 * Double(i))]
        }
        let ids = try store.addRound(0, box: space.fullBox, assignments: assignments)
        for (id, final) in zip(ids, finals) {
            try store.markRunning(id, pid: 1, outputDirectory: dir.path)
            // Each curve climbs from 60 % of its final accuracy to it.
            try store.recordEpochs(id, (1...epochs).map { e in
                EpochRecord(epoch: e, devAccuracy: final * (0.6 + 0.4 * Double(e) / Double(epochs)), json: "{}")
            })
            try store.finish(id, status: .done, result: TrialResult(devAccuracy: final))
        }
        let report = try StudyReport(name: "plots", store: store)
        try report.writePlots(to: dir.appendingPathComponent("report"), top: 5)
        return { name in try String(contentsOf: dir.appendingPathComponent("report/\(name)"), encoding: .utf8) }
    }
}
