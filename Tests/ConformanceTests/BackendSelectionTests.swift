import NNBackends
import NNCore
import NNOpenCL
import XCTest

/// `BackendSelection`: NN_BACKEND parsing, explicit requests, and the `auto` fallback's single line.
final class BackendSelectionTests: XCTestCase {
    /// A selector no real device name contains, to make OpenCL construction fail on any machine.
    private let noSuchDevice = [BackendSelection.openCLDeviceVariable: "no-such-device-\(UInt32.max)"]

    /// Collects log lines so a test can count them.
    private final class LogSink: @unchecked Sendable {
        var lines: [String] = []
        func write(_ line: String) { lines.append(line) }
    }

    private func requireOpenCL() throws {
        let roster = BackendRoster.shared
        if let message = roster.openCLFailureMessage {
            if roster.openCLMayBeSkipped { throw XCTSkip("NN_SKIP_OPENCL=1: \(message)") }
            throw NNError.backendUnavailable(backend: "opencl", reason: message)  // fails the test, naming why
        }
    }

    /// Ranks on one host spread over its OpenCL GPUs (over every device when it has none); a CPU driver
    /// listed beside the GPUs gets no rank; NN_OPENCL_DEVICE, when set, wins.
    func testRanksOnOneHostTakeTheirOwnOpenCLDevice() {
        let variable = BackendSelection.openCLDeviceVariable
        func device(_ index: Int, _ type: OpenCLDeviceType) -> OpenCLDeviceInfo {
            OpenCLDeviceInfo(index: index, platformName: "P\(index)", platformVersion: "OpenCL 3.0", name: "D\(index)", vendor: "V",
                             type: type, driverVersion: "1", openCLVersion: "OpenCL 3.0", computeUnits: 8, globalMemoryBytes: 1 << 30,
                             localMemoryBytes: 1 << 15, maxWorkGroupSize: 256, preferredFloatVectorWidth: 1)
        }
        func take(_ rank: Int, _ devices: [OpenCLDeviceInfo], _ environment: [String: String] = [:]) -> String? {
            BackendSelection.environment(forLocalRank: rank, devices: devices, environment: environment)[variable]
        }
        let twoCPUs = [device(0, .cpu), device(1, .cpu)]
        XCTAssertEqual(BackendSelection.environment(forLocalRank: 0, devices: twoCPUs, environment: ["A": "1"]), ["A": "1", variable: "0"])
        XCTAssertEqual(take(3, twoCPUs), "1")
        XCTAssertNil(take(1, [device(0, .gpu)]), "one device: the default selection takes it")
        // PoCL listed first, then two GPUs: ranks 0 and 1 take the GPUs (indices 1 and 2), rank 2 shares GPU 1.
        let mixed = [device(0, .cpu), device(1, .gpu), device(2, .gpu)]
        XCTAssertEqual([0, 1, 2].map { take($0, mixed) }, ["1", "2", "1"])
        XCTAssertNil(take(1, [device(0, .gpu), device(1, .cpu)]), "one GPU beside a CPU driver: every rank on the GPU")
        XCTAssertEqual(take(1, mixed, [variable: "nvidia"]), "nvidia")
    }

    func testRequestedKindFromEnvironment() throws {
        XCTAssertEqual(try BackendSelection.requestedKind(environment: [:]), .auto)
        XCTAssertEqual(try BackendSelection.requestedKind(environment: ["NN_BACKEND": ""]), .auto)
        XCTAssertEqual(try BackendSelection.requestedKind(environment: ["NN_BACKEND": "Native"]), .native)
        XCTAssertEqual(try BackendSelection.requestedKind(environment: ["NN_BACKEND": " opencl "]), .opencl)
        XCTAssertEqual(try BackendSelection.requestedKind(environment: ["NN_BACKEND": "AUTO"]), .auto)
        XCTAssertThrowsError(try BackendSelection.requestedKind(environment: ["NN_BACKEND": "cuda"])) { error in
            guard case let NNError.invalidArgument(_, detail) = error else { return XCTFail("got \(error)") }
            XCTAssert(detail.contains("cuda") && detail.contains("opencl, native, auto"), detail)
        }
    }

    func testUnknownEnvironmentValueIsAnErrorNotASilentDefault() {
        let log = LogSink()
        XCTAssertThrowsError(try BackendSelection.make(environment: ["NN_BACKEND": "gpu"], log: log.write)) { error in
            guard case NNError.invalidArgument = error else { return XCTFail("got \(error)") }
        }
        XCTAssertEqual(log.lines, [])
    }

    func testNativeRequestedExplicitlyOrByEnvironment() throws {
        let log = LogSink()
        let explicit = try BackendSelection.make(.native, environment: noSuchDevice, log: log.write)
        XCTAssertEqual(explicit.name, "native")
        XCTAssertEqual(explicit.precision, .float32)
        let fromEnvironment = try BackendSelection.make(environment: ["NN_BACKEND": "native"], log: log.write)
        XCTAssertEqual(fromEnvironment.name, "native")
        // An explicit kind wins over NN_BACKEND.
        XCTAssertEqual(try BackendSelection.make(.native, environment: ["NN_BACKEND": "opencl"], log: log.write).name, "native")
        XCTAssertEqual(log.lines, [], "native selection must not log")
    }

    func testOpenCLRequestedButUnusableThrowsInsteadOfFallingBack() {
        let log = LogSink()
        XCTAssertThrowsError(try BackendSelection.make(.opencl, environment: noSuchDevice, log: log.write)) { error in
            guard case let NNError.backendUnavailable(backend, reason) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(backend, "opencl")
            XCTAssert(reason.contains("no-such-device"), "the reason should name the selector: \(reason)")
        }
        XCTAssertEqual(log.lines, [], "an explicit opencl request must not fall back")
    }

    func testAutoFallsBackToNativeWithExactlyOneLine() throws {
        let log = LogSink()
        let backend = try BackendSelection.make(.auto, environment: noSuchDevice, log: log.write)
        XCTAssertEqual(backend.name, "native")
        XCTAssertEqual(log.lines.count, 1, "auto fallback logs exactly one line: \(log.lines)")
        let line = try XCTUnwrap(log.lines.first)
        XCTAssert(line.hasPrefix("nn: no usable OpenCL device ("), line)
        XCTAssert(line.hasSuffix("; using the native backend. Set NN_BACKEND=native to silence this."), line)
        XCTAssert(line.contains("no-such-device"), "the line should say why: \(line)")
        XCTAssertFalse(line.contains("\n"), "one line: \(line)")
    }

    func testFallbackMessageFlattensMultiLineReasons() {
        let buildLog = NNError.deviceFailure(call: "clBuildProgram", detail: "CL_BUILD_PROGRAM_FAILURE (-11)\n<kernel>:3:1: error\n\n  x = ;")
        let line = BackendSelection.fallbackMessage(for: buildLog)
        XCTAssertFalse(line.contains("\n"), line)
        XCTAssert(line.contains("CL_BUILD_PROGRAM_FAILURE (-11); <kernel>:3:1: error; x = ;"), line)
        let long = NNError.backendUnavailable(backend: "opencl", reason: String(repeating: "x", count: 5000))
        XCTAssertLessThan(BackendSelection.fallbackMessage(for: long).count, 600, "a huge reason is cut to keep the notice readable")
    }

    func testAutoAndExplicitOpenCLPickOpenCLWhenItWorks() throws {
        try requireOpenCL()
        let log = LogSink()
        let auto = try BackendSelection.make(.auto, environment: [:], log: log.write)
        XCTAssertEqual(auto.name, "opencl")
        XCTAssertEqual(log.lines, [], "auto must stay quiet when OpenCL works")
        let explicit = try BackendSelection.make(environment: ["NN_BACKEND": "opencl", BackendSelection.openCLDeviceVariable: "0"],
                                                 log: log.write)
        XCTAssertEqual(explicit.name, "opencl")
        // The selected backend computes: a 1×1 gemm round trip.
        let a = try explicit.makeTensor([Float(3)], shape: .scalar), b = try explicit.makeTensor([Float(4)], shape: .scalar)
        let c = try explicit.makeTensor(.scalar)
        try explicit.gemm(a, transposeA: false, b, transposeB: false, into: c, alpha: 1, beta: 0)
        XCTAssertEqual(try explicit.download(c), [12])
    }

    func testDeviceReportListsDevicesAndExplainsAuto() throws {
        let failing = BackendSelection.deviceReport(environment: noSuchDevice)
        XCTAssertEqual(failing.autoChoice, .native)
        XCTAssert(failing.autoReason.contains("no-such-device"), failing.autoReason)
        XCTAssert(failing.description.contains("  native: Swift loops on the CPU"), failing.description)
        XCTAssert(failing.description.contains("  opencl: OpenCL on a GPU or CPU device"), failing.description)
        XCTAssert(failing.description.contains("auto picks: native"), failing.description)

        try requireOpenCL()
        let report = BackendSelection.deviceReport(environment: [:])
        XCTAssertNil(report.openCLListingProblem)
        XCTAssertFalse(report.openCLDevices.isEmpty)
        XCTAssertEqual(report.openCLDevices.map(\.index), Array(report.openCLDevices.indices))
        XCTAssertEqual(report.autoChoice, .opencl)
        for device in report.openCLDevices {
            XCTAssert(report.description.contains("[\(device.index)] \(device.name)"), report.description)
        }
        XCTAssert(report.description.contains("auto picks: opencl"), report.description)
    }
}
