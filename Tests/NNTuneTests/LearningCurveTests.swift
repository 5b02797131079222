import Foundation
import XCTest
@testable import NNTrain
@testable import nn

/// The run's learning-curve.svg as a person reads it: round loss ticks, accuracy in " %", whole
/// epochs, and resume/rollback annotations that stay on the canvas and off the legend.
final class LearningCurveTests: XCTestCase {
    func testLossAndAccuracyTicksAreRoundWithOneUnitEach() throws {
        let document = try SVGDocument(LearningCurve.svg(history(epochs: 10), title: "digits"))
        let columns = document.yTickColumns.map { $0.sorted { ($0.y ?? 0) > ($1.y ?? 0) }.map(\.content) }
        XCTAssertEqual(columns.count, 2, "one y axis for loss, one for accuracy: \(columns)")
        let loss = assertRoundTicks(columns.first ?? [])
        XCTAssertLessThanOrEqual(loss.first ?? .infinity, 0.31)
        XCTAssertGreaterThanOrEqual(loss.last ?? -.infinity, 0.92)
        let accuracy = assertRoundTicks(columns.last ?? [], suffix: " %")
        XCTAssertLessThanOrEqual(accuracy.first ?? .infinity, 80.2)
        XCTAssertGreaterThanOrEqual(accuracy.last ?? -.infinity, 89.1)
        XCTAssertLessThanOrEqual(accuracy.last ?? .infinity, 100, "no accuracy tick past 100 %")
    }

    func testEpochTicksAreRoundWholeNumbers() throws {
        for epochs in [2, 3, 10, 30, 64] {
            let document = try SVGDocument(LearningCurve.svg(history(epochs: epochs), title: "digits"))
            let row = try XCTUnwrap(document.xTickRows.last, "no epoch tick labels")
            for panel in [row.filter { ($0.x ?? 0) < LearningCurve.panelWidth }, row.filter { ($0.x ?? 0) >= LearningCurve.panelWidth }] {
                let labels = panel.sorted { ($0.x ?? 0) < ($1.x ?? 0) }.map(\.content)
                XCTAssertTrue(labels.allSatisfy { Int($0) != nil }, "\(epochs) epochs: ticks \(labels) are not whole epochs")
                let values = assertRoundTicks(labels)
                // Round ticks need not land on the first and last epoch, but each end lies within a step of a tick.
                let step = values.count > 1 ? values[1] - values[0] : 1
                XCTAssertTrue(values.first.map { $0 < 1 + step } ?? false && values.last.map { $0 > Double(epochs) - step } ?? false,
                              "\(epochs) epochs: ticks \(labels) leave an end of the axis unmarked")
            }
        }
    }

    func testAnnotationsStayOnTheCanvasAndOffTheLegend() throws {
        let long = "resume: lr 0.001→0.0003, batch 128→256, dropout 0.9→0.8, schedule cosine→step, weight-decay 0.0001→0.0005, epochs 10→20"
        let cases: [(epochs: Int, markers: [LearningCurve.Marker])] = [
            (10, [.init(epoch: 3.5, label: "resume"),
                  .init(epoch: 6.5, label: "rollback to 6: lr 0.001→0.0003"),
                  .init(epoch: 8.5, label: "resume: lr 0.001→0.0003, batch 128→256")]),
            (10, (1...8).map { .init(epoch: Double($0) + 0.5, label: $0 == 8 ? long : "resume: lr 0.001→0.0003, batch 128→256") }),
            (3, [.init(epoch: 0.5, label: "rollback to 0: lr 0.1→0.01"), .init(epoch: 2.5, label: long)]),
        ]
        for (epochs, markers) in cases {
            let svg = LearningCurve.svg(history(epochs: epochs), title: "digits — 64-32-10", markers: markers)
            let document = try SVGDocument(svg)
            document.assertReadable()
            XCTAssertEqual(svg.components(separatedBy: "stroke-dasharray").count - 1, 2 * markers.count, "a dashed line per marker per panel")
            for marker in markers {
                XCTAssertTrue(svg.contains(LearningCurve.escape(marker.label)), "the full label of \"\(marker.label)\" is in the file")
                XCTAssertTrue(document.texts.contains { text in
                    text.content.contains(marker.label) || text.content.hasSuffix("…") && text.content.contains(marker.label.prefix(20))
                }, "\"\(marker.label)\" is shown, whole or cut short with an ellipsis")
            }
        }
    }

    /// Loss falls from 0.92 to 0.31 and accuracy rises from 80.2 % to 89.1 % over `epochs` epochs.
    private func history(epochs: Int) -> [EpochMetrics] {
        (1...epochs).map { e in
            let t = epochs == 1 ? 1 : Double(e - 1) / Double(epochs - 1)
            return EpochMetrics(epoch: e, isComplete: true, learningRate: 0.001, trainLoss: 0.92 - 0.61 * t, trainCost: 0.92 - 0.61 * t,
                                trainAccuracy: 0.802 + 0.089 * t, devLoss: 0.9 - 0.5 * t, devAccuracy: 0.81 + 0.07 * t,
                                samples: 1000, seconds: 1, samplesPerSecond: 1000, globalStep: e * 10, improved: false)
        }
    }
}
