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

/// The programs of the kernel library (see `KernelSources`): the GEMM kernels of one family, built once
/// per GEMM tuning, and the memory-bound kernels, built once per device whatever the tuning. Apart, a
/// GPU backend whose shape classes have different tunings builds the memory-bound kernels once instead
/// of twice, and an autotuner candidate builds only the GEMM kernels it is measured on.
enum ProgramPart: Hashable, Sendable {
    /// gemm.cl built for one kernel family (`GEMM_FAMILY`, set by the tuning's build options).
    case gemm(GemmTuning.Family)
    case memoryBound

    var source: String {
        let families: [(name: String, source: String)] = switch self {
        case .gemm: KernelSources.gemmProgram
        case .memoryBound: KernelSources.memoryBoundProgram
        }
        return families.map { "// ===== \($0.name).cl =====\n\($0.source)" }.joined(separator: "\n")
    }

    /// The kernels this part's program holds.
    var kernels: [KernelName] {
        KernelName.allCases.filter { $0.part == self }
    }
}

/// The kernel program built for one (device, driver, part, build options), shared process-wide.
final class CompiledProgram: @unchecked Sendable {
    // Immutable after init; a built cl_program may be used from any thread (kernels may not).
    let program: cl_program
    let part: ProgramPart
    let context: DeviceContext
    let buildOptions: String

    init(program: cl_program, part: ProgramPart, context: DeviceContext, buildOptions: String) {
        self.program = program
        self.part = part
        self.context = context
        self.buildOptions = buildOptions
    }

    deinit { clReleaseProgram(program) }
}

/// Builds each program once per process and hands the same one to every backend that asks again.
///
/// Building is the slow part of opening a device (PoCL: about a second; GPU drivers: up to several),
/// and tests and tools open backends many times, so programs are cached by what determines the
/// binary: the device, its driver version, the part and the build options (which carry the GEMM
/// tile sizes).
final class ProgramCache: @unchecked Sendable {
    static let shared = ProgramCache()

    private struct Key: Hashable {
        let device: UInt
        let driverVersion: String
        let part: ProgramPart
        let options: String
    }

    private let lock = NSLock()
    private var contexts: [UInt: DeviceContext] = [:]
    private var programs: [Key: CompiledProgram] = [:]
    private var buildsByPart: [ProgramPart: Int] = [:]

    /// Programs of `part` this cache has built so far (kept or not): the cost a caller may want to see
    /// grow only where it should, e.g. by one GEMM program and no memory-bound one per autotuner candidate.
    func builds(of part: ProgramPart) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return buildsByPart[part, default: 0]
    }

    /// `part`'s program for `device` built with `options`: the cached one, else a new build, kept for
    /// later callers unless `retain` is false (the autotuner's candidates, each built once and dropped
    /// with its backend, so that a GPU tune does not hold a hundred programs for the rest of the process).
    func program(_ part: ProgramPart, for device: DiscoveredDevice, options: String, retain: Bool = true) throws -> CompiledProgram {
        lock.lock()
        defer { lock.unlock() }
        let deviceKey = UInt(bitPattern: device.device)
        let key = Key(device: deviceKey, driverVersion: device.info.driverVersion, part: part, options: options)
        if let cached = programs[key] { return cached }

        let context: DeviceContext
        if let existing = contexts[deviceKey] {
            context = existing
        } else {
            context = try DeviceContext(device: device)
            contexts[deviceKey] = context
        }
        let built = try Self.build(part, on: context, options: options)
        buildsByPart[part, default: 0] += 1
        if retain { programs[key] = built }
        return built
    }

    private static func build(_ part: ProgramPart, on context: DeviceContext, options: String) throws -> CompiledProgram {
        var status: cl_int = CL_SUCCESS
        let created: cl_program? = part.source.withCString { text in
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
        return CompiledProgram(program: program, part: part, context: context, buildOptions: options)
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
