import Foundation
import NNConformance
import NNCore
import NNNative
@testable import NNOpenCL
import XCTest

/// Kernels that allow fewer work-items per group than their device (`CL_KERNEL_WORK_GROUP_SIZE`, lower
/// when a build needs many registers or much local memory per item): the backend checks every kernel
/// of its plan when it opens, steps a tuning or kernel shape it chose down to one that fits, and
/// refuses a given one by name. PoCL and Oclgrind allow every kernel the device's maximum, so the
/// limits here are the test's: fake ones for the rules, and on PoCL through `KernelTable`'s override.
final class KernelLimitTests: XCTestCase {
    private func device() throws -> DiscoveredDevice {
        try openCLOrSkip { try XCTUnwrap(try DeviceDiscovery.discover().first) }
    }

    /// Limits of `tiled` items for the tiled GEMM kernels, `workGroupShapes` for the GPU shapes'
    /// 256-item kernels, and `others` for the rest.
    private func limits(tiled: Int = 1024, workGroupShapes: Int = 1024, others: Int = 1024) -> (KernelName, GemmShapeClass) -> Int {
        { name, _ in
            if LaunchPlan.tiledGemmKernels.contains(name) { return tiled }
            return LaunchPlan.workGroupShapeKernels.contains(name) ? workGroupShapes : others
        }
    }

    private let chosenGpuPlan = LaunchPlan(squareTuning: .gpuSquareDefault, skinnyTuning: .gpuSkinnyDefault, memoryKernels: .workGroup,
                                           squareTuningIsGiven: false, skinnyTuningIsGiven: false, memoryKernelsAreGiven: false)

    /// The rules, on a fake H200-sized GPU: what fits stays; chosen tunings step down the fallback
    /// chain to the first with no more items than the kernel allowed, chosen GPU shapes become CPU
    /// shapes; given ones are errors that name the kernel, both sizes and the way out.
    func testChosenChoicesStepDownAndGivenOnesAreRefused() throws {
        let gpu = GemmTiledTests.fakeGPU(localMemory: 48 * 1024, maxWorkGroup: 1024)
        let squareChain = GemmTuning.gpuFallbacks(from: .gpuSquareDefault)
        let skinnyChain = GemmTuning.gpuFallbacks(from: .gpuSkinnyDefault)
        XCTAssertNil(try chosenGpuPlan.refitted(on: gpu, kernelLimit: limits()), "every kernel at the device's limit fits")

        // Registers cap the tiled kernels at 128 items: both classes take 64 × 64 tiles of 8 × 8 items.
        let capped = try XCTUnwrap(try chosenGpuPlan.refitted(on: gpu, kernelLimit: limits(tiled: 128)))
        XCTAssertEqual(capped.squareTuning, squareChain[2])
        XCTAssertEqual(capped.skinnyTuning, skinnyChain[2])
        XCTAssertEqual(capped.memoryKernels, .workGroup)
        XCTAssertNil(try capped.refitted(on: gpu, kernelLimit: limits(tiled: 128)), "the step down fits, so the search ends")
        let tiny = try XCTUnwrap(try chosenGpuPlan.refitted(on: gpu, kernelLimit: limits(tiled: 32)))
        XCTAssertEqual([tiny.squareTuning, tiny.skinnyTuning], [squareChain[3], skinnyChain[3]])

        let cpuShapes = try XCTUnwrap(try chosenGpuPlan.refitted(on: gpu, kernelLimit: limits(workGroupShapes: 128)))
        XCTAssertEqual(cpuShapes.memoryKernels, .vector)
        XCTAssertEqual([cpuShapes.squareTuning, cpuShapes.skinnyTuning], [.gpuSquareDefault, .gpuSkinnyDefault])
        XCTAssertNil(try cpuShapes.refitted(on: gpu, kernelLimit: limits(workGroupShapes: 128)))

        var givenTuning = chosenGpuPlan
        givenTuning.squareTuningIsGiven = true
        XCTAssertThrowsError(try givenTuning.refitted(on: gpu, kernelLimit: limits(tiled: 128))) { error in
            guard case let NNError.invalidArgument(op, detail) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(op, "GEMM tuning")
            for part in ["gemm_tiled_", "at most 128 work-items", "launches 256", "nn devices --tune"] {
                XCTAssertTrue(detail.contains(part), "\(part) in: \(detail)")
            }
        }
        var givenShapes = chosenGpuPlan
        givenShapes.memoryKernelsAreGiven = true
        XCTAssertThrowsError(try givenShapes.refitted(on: gpu, kernelLimit: limits(workGroupShapes: 128))) { error in
            guard case let NNError.invalidArgument(op, detail) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(op, MemoryKernelFamily.environmentVariable)
            XCTAssertTrue(detail.contains("at most 128") && detail.contains("\(MemoryKernelFamily.environmentVariable)=cpu"), detail)
        }
        // Below the 16-item minimum no fallback is left; below 64 items the library's fixed groups do not fit.
        XCTAssertThrowsError(try chosenGpuPlan.refitted(on: gpu, kernelLimit: limits(tiled: 8))) { error in
            guard case let NNError.invalidArgument(_, detail) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(detail.contains("no built-in fallback fits"), detail)
        }
        XCTAssertThrowsError(try chosenGpuPlan.refitted(on: gpu, kernelLimit: limits(others: 32))) { error in
            guard case let NNError.backendUnavailable(backend, reason) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(backend, "opencl")
            XCTAssertTrue(reason.contains("at most 32") && reason.contains("--backend native"), reason)
        }
    }

    /// The declared work-groups bound every launch: a backend whose kernels allow exactly what
    /// `LaunchPlan.workGroupItems` declares (none where it declares 0) passes the whole conformance
    /// suite in both kernel shapes, and the GEMM cases on two tiled tunings with separate programs.
    /// A launch the table missed or understated would fail at `KernelTable`'s guard.
    func testEveryLaunchStaysWithinTheDeclaredWorkGroups() throws {
        let device = try device()
        let cpuDefault = GemmTuning.defaults(for: device.info)
        let configurations: [(GemmTuning, GemmTuning, MemoryKernelFamily, [ConformanceCase])] = [
            (cpuDefault, cpuDefault, .vector, ConformanceSuite.cases),
            (cpuDefault, cpuDefault, .workGroup, ConformanceSuite.cases),
            // Small tiles (fast PoCL builds) that differ, so the skinny class gets its own program; split K.
            (GemmTiledTests.representativeTunings[3], GemmTiledTests.representativeTunings[2], .workGroup,
             ConformanceSuite.cases(in: .algebra)),
        ]
        for (square, skinny, shapes, cases) in configurations {
            let plan = LaunchPlan(squareTuning: square, skinnyTuning: skinny, memoryKernels: shapes,
                                  squareTuningIsGiven: true, skinnyTuningIsGiven: true, memoryKernelsAreGiven: true)
            let backend = try OpenCLBackend(device: device, plan: plan, retainGemmPrograms: true,
                                            kernelLimits: { plan.workGroupItems(of: $0, in: $1) })
            XCTAssertEqual([backend.gemmTuning, backend.skinnyGemmTuning], [square, skinny])
            XCTAssertEqual(backend.memoryKernels, shapes)
            let label = "declared limits, \(shapes.shapeName) shapes, \(square.family)"
            var ran = 0
            for result in ConformanceSuite(backend: backend, label: label).run(cases) {
                ran += 1
                for failure in result.failures { XCTFail("\(result.caseID) [\(label)]: \(failure)") }
            }
            XCTAssertEqual(ran, cases.count, label)
        }
    }

    /// The guard itself: a launch in larger groups than its kernel's limit is an error naming both,
    /// not CL_INVALID_WORK_GROUP_SIZE from the driver.
    func testALaunchBeyondTheKernelsLimitIsRefused() throws {
        let device = try device(), tuning = GemmTuning.defaults(for: device.info)
        let backend = try OpenCLBackend(device: device, plan: LaunchPlan(
            squareTuning: tuning, skinnyTuning: tuning, memoryKernels: .vector,
            squareTuningIsGiven: true, skinnyTuningIsGiven: true, memoryKernelsAreGiven: true), retainGemmPrograms: true)
        let table = try KernelTable(program: backend.program, limits: { _ in 32 })
        let x = try backend.makeTensor(Shape(1, 100))
        let memory = try backend.mem(x, "test")
        XCTAssertThrowsError(try table.launch(.fill, on: backend.queue, [.buffer(memory), .float(1), .int(100)],
                                              global: (100, 1), local: (64, 1))) { error in
            guard case let NNError.deviceFailure(call, detail) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(call.contains("fill"), call)
            XCTAssertTrue(detail.contains("64 items") && detail.contains("allows 32"), detail)
        }
        try table.launch(.fill, on: backend.queue, [.buffer(memory), .float(1), .int(100)], global: (100, 1), local: (32, 1))
        XCTAssertEqual(try backend.download(x), [Float](repeating: 1, count: 100), "within the limit it runs")
    }

    /// The step down on a real driver: GPU defaults and GPU shapes the library chose, on PoCL with the
    /// tiled kernels and the 256-item kernels capped at 128 items, open as the 64-item fallback with
    /// CPU shapes, and compute what the reference says.
    func testBackendRebuildsWithTheFallbackAndComputesCorrectly() throws {
        let device = try device()
        let plan = LaunchPlan(squareTuning: .gpuSkinnyDefault, skinnyTuning: .gpuSkinnyDefault, memoryKernels: .workGroup,
                              squareTuningIsGiven: false, skinnyTuningIsGiven: false, memoryKernelsAreGiven: false)
        let cap = limits(tiled: 128, workGroupShapes: 128, others: device.info.maxWorkGroupSize)
        let backend = try OpenCLBackend(device: device, plan: plan, retainGemmPrograms: true, kernelLimits: cap)
        let fallback = GemmTuning.gpuFallbacks(from: .gpuSkinnyDefault)[2]
        XCTAssertEqual([backend.gemmTuning, backend.skinnyGemmTuning], [fallback, fallback])
        XCTAssertEqual(backend.memoryKernels, .vector)
        let cases = ConformanceSuite.cases(in: .algebra) + ConformanceSuite.cases(in: .classifierHeads)
        for result in ConformanceSuite(backend: backend, label: "stepped down").run(cases) {
            for failure in result.failures { XCTFail("\(result.caseID): \(failure)") }
        }
        var given = plan
        given.squareTuningIsGiven = true
        given.skinnyTuningIsGiven = true
        XCTAssertThrowsError(try OpenCLBackend(device: device, plan: given, retainGemmPrograms: true, kernelLimits: cap))
    }

    /// This driver's own limits take the plan it opens by default.
    func testDriverLimitsCoverTheDefaultPlan() throws {
        let backend = try openCLOrSkip { try OpenCLBackend(deviceSelector: "0") }
        let gemmPart = ProgramPart.gemm(backend.gemmTuning.family)
        for name in KernelName.allCases where name.part == .memoryBound || name.part == gemmPart {
            let limit = (name.part == gemmPart ? backend.gemmKernels : backend.kernels).maxWorkGroupItems(name)
            XCTAssertGreaterThanOrEqual(limit, OpenCLBackend.flatGroupSize, name.rawValue)
            XCTAssertLessThanOrEqual(limit, backend.device.maxWorkGroupSize, name.rawValue)
        }
    }
}
