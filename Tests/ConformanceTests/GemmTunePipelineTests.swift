import Foundation
import NNCore
import NNNative
@testable import NNOpenCL
import XCTest

/// The autotuner's measuring loop with GPU-style plans (tiled candidates, two shape classes, a time
/// budget) run on whatever device is present, PoCL in CI: no GPU is needed to check that each class
/// verifies, rejects, times, stops on its budget and stores its own winner.
final class GemmTunePipelineTests: XCTestCase {
    func testGpuStylePlansVerifyMeasureAndStoreEachClass() throws {
        let device = try XCTUnwrap(try openCLOrSkip { try OpenCLBackend.availableDevices() }.first)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnn-tune-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = GemmTuningCache(url: directory.appendingPathComponent("gemm-tuning.json"), warn: { _ in })

        let tunings = GemmTiledTests.representativeTunings
        let invalid = GemmTuning(family: .tiled, vwm: 3)
        let plans = [
            // 1024 × 1024 is a square-class C; k = 4 keeps it quick on a CPU.
            GemmAutotuner.ClassPlan(shapeClass: .square, candidates: [tunings[2], invalid, tunings[5]],
                                    timed: [(1024, 1024, 4, false, false)], secondsBudget: nil, spaceSize: 3),
            // A zero budget still measures the first two candidates, then stops.
            GemmAutotuner.ClassPlan(shapeClass: .skinny, candidates: [tunings[3], tunings[4], tunings[5]],
                                    timed: [(64, 48, 100, false, true), (100, 30, 64, true, false)], secondsBudget: 0, spaceSize: 3),
        ]
        // The memory-bound program does not depend on the tuning: built here once (if no test before
        // has), then never again for a candidate, which builds only its GEMM program.
        _ = try OpenCLBackend(deviceSelector: String(device.index))
        let memoryBoundBuilds = ProgramCache.shared.builds(of: .memoryBound)
        var heard: [GemmAutotuner.CandidateResult] = []
        let report = try GemmAutotuner.tune(device: device, plans: plans, cache: cache) { heard.append($0) }
        XCTAssertEqual(ProgramCache.shared.builds(of: .memoryBound), memoryBoundBuilds, "a candidate rebuilt the memory-bound kernels")

        XCTAssertEqual(report.classes.map(\.shapeClass), [.square, .skinny])
        XCTAssertEqual(heard.count, 5, "progress hears every measured candidate")
        let square = report.classes[0], skinny = report.classes[1]
        XCTAssertEqual(square.candidates.map(\.tuning), [tunings[2], invalid, tunings[5]])
        XCTAssertNil(square.candidates[1].gflops)
        XCTAssertTrue(square.candidates[1].rejection?.contains("VWM and VWN") ?? false, "\(square.candidates[1].summary)")
        for result in square.candidates where result.tuning != invalid {
            XCTAssertNotNil(result.gflops, result.summary)   // verified against the reference, then timed
            XCTAssertGreaterThan(result.buildSeconds, 0, "a built candidate's build time is reported: \(result.summary)")
            XCTAssertTrue(result.summary.contains("built in "), result.summary)
            // PoCL reports one fixed size for every kernel, which is no spill.
            XCTAssertEqual(result.privateMemoryBytes, 0, result.summary)
            XCTAssertFalse(result.summary.contains("spills"), result.summary)
        }
        var spilling = square.candidates[0]
        spilling.privateMemoryBytes = 96
        XCTAssertTrue(spilling.summary.hasSuffix("(built in \(GemmAutotuner.Report.format(spilling.buildSeconds)) s, spills 96 bytes per work-item)"),
                      spilling.summary)
        XCTAssertEqual(skinny.candidates.count, 2, "the budget stops the skinny search after two")
        XCTAssertTrue([tunings[2], tunings[5]].contains(square.chosen))
        XCTAssertTrue([tunings[3], tunings[4]].contains(skinny.chosen))

        for (shapeClass, chosen) in [(GemmShapeClass.square, square.chosen), (.skinny, skinny.chosen)] {
            XCTAssertEqual(cache.entry(for: GemmTuningCache.Key(device, shapeClass: shapeClass))?.tuning, chosen, "\(shapeClass)")
        }
        XCTAssertTrue(report.description.contains("skinny winner: "), report.description)
        XCTAssertTrue(report.description.contains("rejected: "), report.description)
        XCTAssertTrue(report.description.contains("s of it building kernels"), report.description)
    }

    /// Every candidate is verified on the path its timed products take: one verification product (and
    /// its bias-and-ReLU run) has a tile of every size in the GPU space wholly inside aligned operands,
    /// with a k range of whole steps, which is the tiled kernel's interior path.
    func testVerificationReachesTheInteriorPathOfEveryGpuTuning() throws {
        let ranges = GemmAutotuner.GpuRanges.self
        let tile = try XCTUnwrap(ranges.workGroupTiles.max()), vector = try XCTUnwrap(ranges.vectorWidths.max())
        for withBias in [false, true] {
            XCTAssertTrue(GemmAutotuner.verificationCases.contains { check in
                (check.bias != nil) == withBias && check.m >= tile && check.n >= tile
                    && [check.m, check.n, check.k].allSatisfy { $0 % vector == 0 } && ranges.kSteps.allSatisfy { check.k % $0 == 0 }
            }, withBias ? "no bias-and-ReLU product reaches the interior path" : "no product reaches the interior path")
        }
    }

    /// The references are right (the native backend meets them), and a result off by more than its
    /// bound is reported with where it is.
    func testVerificationAcceptsCorrectProductsAndNamesAWrongOne() throws {
        let backend = NativeBackend(threads: 1)
        XCTAssertNil(try GemmAutotuner.verify(backend))
        var cases = GemmAutotuner.verificationCases.filter { $0.m == 136 }
        let check = cases[0]
        var expected = check.expected
        expected[137] += 3 * check.bound[137]
        cases[0] = GemmAutotuner.VerificationCase(m: check.m, n: check.n, k: check.k, transposeA: check.transposeA,
                                                  transposeB: check.transposeB, alpha: check.alpha, beta: check.beta, bias: check.bias,
                                                  a: check.a, b: check.b, c: check.c, expected: expected, bound: check.bound)
        let report = try XCTUnwrap(try GemmAutotuner.verify(backend, cases: cases))
        XCTAssertTrue(report.hasPrefix("wrong product: m=136 n=136 k=64") && report.contains("at (1, 1)"), report)
    }
}
