import COpenCL
import Foundation
import NNCore
import NNKernels

/// An OpenCL context on one device, shared by every backend and program on that device in this process.
final class DeviceContext: @unchecked Sendable {
    // Immutable after init; OpenCL contexts are thread-safe.
    let context: cl_context
    let device: DiscoveredDevice

    init(device: DiscoveredDevice) throws {
        var status: cl_int = CL_SUCCESS
        var id: cl_device_id? = device.device
        guard let ctx = clCreateContext(nil, 1, &id, nil, nil, &status), status == CL_SUCCESS else {
            throw NNError.deviceFailure(call: "clCreateContext(\(device.info.name))", detail: OpenCLStatus.describe(status))
        }
        self.context = ctx
        self.device = device
    }

    deinit { clReleaseContext(context) }
}

/// The kernel program built for one (device, driver, build options), shared process-wide.
final class CompiledProgram: @unchecked Sendable {
    // Immutable after init; a built cl_program may be used from any thread (kernels may not).
    let program: cl_program
    let context: DeviceContext
    let buildOptions: String

    init(program: cl_program, context: DeviceContext, buildOptions: String) {
        self.program = program
        self.context = context
        self.buildOptions = buildOptions
    }

    deinit { clReleaseProgram(program) }
}

/// Builds each program once per process and hands the same one to every backend that asks again.
///
/// Building is the slow part of opening a device (PoCL: about a second; GPU drivers: up to several),
/// and tests and tools open backends many times, so programs are cached by what determines the
/// binary: the device, its driver version and the build options (which carry the GEMM tile sizes).
final class ProgramCache: @unchecked Sendable {
    static let shared = ProgramCache()

    private struct Key: Hashable {
        let device: UInt
        let driverVersion: String
        let options: String
    }

    private let lock = NSLock()
    private var contexts: [UInt: DeviceContext] = [:]
    private var programs: [Key: CompiledProgram] = [:]

    /// The whole kernel library: every family in `KernelSources.all`, one program, so one build per device.
    static var librarySource: String {
        KernelSources.all.map { "// ===== \($0.name).cl =====\n\($0.source)" }.joined(separator: "\n")
    }

    /// The program for `device` built with `options`: the cached one, else a new build, kept for later
    /// callers unless `retain` is false (the autotuner's candidates, each built once and dropped
    /// with its backend, so that a GPU tune does not hold a hundred programs for the rest of the process).
    func program(for device: DiscoveredDevice, options: String, retain: Bool = true) throws -> CompiledProgram {
        lock.lock()
        defer { lock.unlock() }
        let deviceKey = UInt(bitPattern: device.device)
        let key = Key(device: deviceKey, driverVersion: device.info.driverVersion, options: options)
        if let cached = programs[key] { return cached }

        let context: DeviceContext
        if let existing = contexts[deviceKey] {
            context = existing
        } else {
            context = try DeviceContext(device: device)
            contexts[deviceKey] = context
        }
        let built = try Self.build(Self.librarySource, on: context, options: options)
        if retain { programs[key] = built }
        return built
    }

    private static func build(_ source: String, on context: DeviceContext, options: String) throws -> CompiledProgram {
        var status: cl_int = CL_SUCCESS
        let created: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            return clCreateProgramWithSource(context.context, 1, &pointer, nil, &status)
        }
        guard let program = created, status == CL_SUCCESS else {
            throw NNError.deviceFailure(call: "clCreateProgramWithSource", detail: OpenCLStatus.describe(status))
        }
        var device: cl_device_id? = context.device.device
        let buildStatus = clBuildProgram(program, 1, &device, options, nil, nil)
        guard buildStatus == CL_SUCCESS else {
            let log = buildLog(program, device: context.device.device)
            clReleaseProgram(program)
            throw NNError.deviceFailure(
                call: "clBuildProgram(\(context.device.info.name), options: \(options))",
                detail: "\(OpenCLStatus.describe(buildStatus)); build log:\n\(log)")
        }
        return CompiledProgram(program: program, context: context, buildOptions: options)
    }

    private static func buildLog(_ program: cl_program, device: cl_device_id) -> String {
        var size = 0
        guard clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size) == CL_SUCCESS,
              size > 0 else { return "(no build log)" }
        var bytes = [CChar](repeating: 0, count: size)
        guard clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil) == CL_SUCCESS
        else { return "(build log unavailable)" }
        return DeviceDiscovery.cString(bytes)
    }
}
