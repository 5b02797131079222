import Foundation
import NNConformance
import NNCore
import NNNative
@testable import NNOpenCL
import XCTest

/// The OpenCL backend's two kernel shapes (``MemoryKernelFamily``) each pass the whole conformance
/// suite on whatever device is here. The roster's "opencl" backend runs the device's default shape
/// (on PoCL the CPU shape); this forces each shape explicitly, so a CPU-only machine verifies the
/// GPU kernels (their work-group reductions, float4 paths and grid-stride loops are ordinary OpenCL
/// C that PoCL runs) and a GPU host verifies the CPU kernels.
final class KernelShapeTests: XCTestCase {
    private func device() throws -> OpenCLDeviceInfo {
        try openCLOrSkip { try XCTUnwrap(try OpenCLBackend.availableDevices().first) }
    }

    func testConformanceSuitePassesInEveryKernelShape() throws {
        _ = try device()
        // Native peers only: a second OpenCL backend's tensors are not foreign to this one.
        let peers = [ConformancePeer(label: "native", backend: NativeBackend(precision: .float32)),
                     ConformancePeer(label: "native-float64", backend: NativeBackend(precision: .float64))]
        for family in MemoryKernelFamily.allCases {
            let backend = try OpenCLBackend(memoryKernels: family)
            XCTAssertEqual(backend.memoryKernels, family)
            let label = "opencl-\(family.shapeName.lowercased())-shapes"
            var ran = 0
            for result in ConformanceSuite(backend: backend, label: label, peers: peers).run() {
                ran += 1
                for failure in result.failures { XCTFail("\(result.caseID) [\(label)]: \(failure)") }
            }
            XCTAssertEqual(ran, ConformanceSuite.cases.count, label)
        }
    }

    /// `NN_OPENCL_KERNEL_SHAPES`: gpu, cpu and auto (or unset) in any case and spacing; anything else throws.
    func testEnvironmentSettingSelectsTheShape() throws {
        let device = try device()
        XCTAssertEqual(try MemoryKernelFamily.resolve("gpu", for: device), .workGroup)
        XCTAssertEqual(try MemoryKernelFamily.resolve(" CPU ", for: device), .vector)
        XCTAssertEqual(try MemoryKernelFamily.resolve("auto", for: device), MemoryKernelFamily.defaults(for: device))
        XCTAssertEqual(try MemoryKernelFamily.resolve(nil, for: device), MemoryKernelFamily.defaults(for: device))
        XCTAssertEqual(try MemoryKernelFamily.resolve("", for: device), MemoryKernelFamily.defaults(for: device))
        XCTAssertThrowsError(try MemoryKernelFamily.resolve("fast", for: device)) { error in
            guard case let NNError.invalidArgument(op, detail) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(op, MemoryKernelFamily.environmentVariable)
            XCTAssertTrue(detail.contains("fast"), detail)
        }
        if device.type == .cpu {
            XCTAssertEqual(MemoryKernelFamily.defaults(for: device), .vector, "CPU drivers keep the CPU shape by default")
        }
    }

    /// The GPU shapes' column reductions cut the rows into equal chunks that cover them, none empty and
    /// at most 256; a batch's bias gradient (up to 256 rows) is one chunk, so one launch.
    func testColumnLaneChunksCoverTheRows() {
        for rows in [1, 7, 63, 64, 65, 128, 255, 256, 257, 4096, 100_000, 1 << 24] {
            for target in [64, 256] {
                let (count, length) = OpenCLBackend.columnLaneChunking(rows: rows, targetRowsPerChunk: target)
                XCTAssertTrue((1...256).contains(count), "\(rows) rows, target \(target): \(count) chunks")
                XCTAssertTrue(count * length >= rows && (count - 1) * length < rows, "\(rows) rows: \(count) × \(length)")
            }
        }
        XCTAssertEqual(OpenCLBackend.columnLaneChunking(rows: 256, targetRowsPerChunk: 256).count, 1)
        XCTAssertEqual(OpenCLBackend.columnLaneChunking(rows: 4096, targetRowsPerChunk: 256).count, 16)
        XCTAssertEqual(OpenCLBackend.columnLaneChunking(rows: 4096, targetRowsPerChunk: 64).count, 64)
    }
}
