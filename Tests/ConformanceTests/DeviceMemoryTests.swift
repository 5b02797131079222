import Foundation
import NNCore
@testable import NNOpenCL
import XCTest

/// Device memory limits on the OpenCL backend: a tensor larger than the device's largest buffer is
/// refused by name before the driver is asked, scratch buffers never grow past that size, and a
/// device that runs out of memory says what to do.
final class DeviceMemoryTests: XCTestCase {
    private func openBackend() throws -> OpenCLBackend {
        try openCLOrSkip { try OpenCLBackend(deviceSelector: "0") }
    }

    /// On this device: one row more than its largest buffer holds. PoCL's largest buffer is a quarter
    /// of the memory free when it starts, so such a tensor may also pass the 2³¹ − 1 elements the
    /// kernels index, which is refused first; the next test pins the limit's own message.
    func testATensorBeyondTheLargestBufferIsRefused() throws {
        let backend = try openBackend()
        let largest = backend.device.maxAllocationBytes
        XCTAssertGreaterThan(largest, 0)
        XCTAssertLessThanOrEqual(largest, backend.device.globalMemoryBytes)
        let columns = 1000
        let rows = Int(largest / 4) / columns + 1
        XCTAssertThrowsError(try backend.makeTensor(Shape(rows, columns))) { error in
            if rows * columns > Int(Int32.max), case NNError.sizeOverflow = error { return }
            guard case let NNError.deviceFailure(call, detail) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(call.contains("clCreateBuffer") && detail.contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE"), "\(call): \(detail)")
        }
        // Nothing was allocated or broken: the backend goes on.
        let small = try backend.makeTensor([Float]([1, 2, 3]), shape: Shape(1, 3))
        XCTAssertEqual(try backend.download(small), [1, 2, 3])
    }

    /// The limit's message, on the real driver with the device's largest buffer declared as 1 MiB:
    /// one float more is refused before the driver is asked, naming the sizes and the fix.
    func testTheLargestBufferLimitNamesItselfAndTheFix() throws {
        let found = try openCLOrSkip { try XCTUnwrap(try DeviceDiscovery.discover().first) }
        let d = found.info
        let oneMiB = OpenCLDeviceInfo(
            index: d.index, platformName: d.platformName, platformVersion: d.platformVersion, name: d.name, vendor: d.vendor,
            type: d.type, driverVersion: d.driverVersion, openCLVersion: d.openCLVersion, computeUnits: d.computeUnits,
            globalMemoryBytes: d.globalMemoryBytes, localMemoryBytes: d.localMemoryBytes, maxWorkGroupSize: d.maxWorkGroupSize,
            preferredFloatVectorWidth: d.preferredFloatVectorWidth, maxAllocationBytes: 1 << 20)
        let context = try DeviceContext(device: DiscoveredDevice(info: oneMiB, platform: found.platform, device: found.device))
        XCTAssertNoThrow(try OpenCLBuffer(context: context, capacity: 1 << 18), "exactly 1 MiB fits")
        XCTAssertThrowsError(try OpenCLBuffer(context: context, capacity: (1 << 18) + 1)) { error in
            guard case let NNError.deviceFailure(call, detail) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(call, "clCreateBuffer(262145 floats)")
            for part in ["a tensor of 2 MiB", "exceeds the largest buffer", "allows, 1 MiB", "CL_DEVICE_MAX_MEM_ALLOC_SIZE", "--batch",
                         "--backend native"] {
                XCTAssertTrue(detail.contains(part), "\(part) in: \(detail)")
            }
        }
        XCTAssertThrowsError(try OpenCLBuffer(context: context, capacity: Int.max), "bytes overflow Int: refused, not trapped")
    }

    /// Twice the current size (at least 1024 floats), capped at the largest buffer, and never less than asked.
    func testScratchBuffersGrowGeometricallyUpToTheLargestBuffer() {
        XCTAssertEqual(OpenCLBackend.scratchCapacity(for: 10, current: 0, largest: 1 << 30), 1024)
        XCTAssertEqual(OpenCLBackend.scratchCapacity(for: 3000, current: 2000, largest: 1 << 30), 4000)
        XCTAssertEqual(OpenCLBackend.scratchCapacity(for: 5000, current: 2000, largest: 1 << 30), 5000)
        XCTAssertEqual(OpenCLBackend.scratchCapacity(for: 3000, current: 2000, largest: 3500), 3500, "doubling would pass the limit")
        XCTAssertEqual(OpenCLBackend.scratchCapacity(for: 5000, current: 2000, largest: 3500), 5000, "the allocation refuses it by name")
    }

    func testOutOfDeviceMemorySaysWhatToDo() {
        let outOfMemory = OpenCLStatus.describe(-4)
        XCTAssertTrue(outOfMemory.hasPrefix("CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)"), outOfMemory)
        XCTAssertTrue(outOfMemory.contains("smaller batch"), outOfMemory)
        XCTAssertEqual(OpenCLStatus.describe(-5), "CL_OUT_OF_RESOURCES (-5)", "other codes name themselves only")
    }
}
