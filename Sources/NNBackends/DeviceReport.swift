import Foundation
import NNCore
import NNNative
import NNOpenCL

/// What `nn devices` prints: every OpenCL device, the native backend, and which backend `auto`
/// would pick and why.
public struct DeviceReport: Sendable, CustomStringConvertible {
    /// Every device of every OpenCL platform, in the order `NN_OPENCL_DEVICE` indexes them.
    public let openCLDevices: [OpenCLDeviceInfo]
    /// Why OpenCL devices could not be listed (no ICD, no platform), nil when listing worked.
    public let openCLListingProblem: String?
    /// The native backend's description (threads, precision).
    public let native: String
    /// The backend `auto` picks on this machine now: `.opencl` or `.native`.
    public let autoChoice: BackendKind
    /// The device `auto` uses, as its backend describes it.
    public let autoDevice: String
    /// Why `auto` picks what it picks, in full (an OpenCL failure's complete message, build log included).
    public let autoReason: String
    /// `NN_BACKEND` as set in the environment, if it is.
    public let requested: String?

    public var description: String {
        var lines = ["OpenCL devices (select with \(BackendSelection.openCLDeviceVariable)=<index or part of a name>):"]
        if let problem = openCLListingProblem {
            lines.append("  none: \(problem)")
        } else {
            for d in openCLDevices {
                lines.append("  [\(d.index)] \(d.name)")
                lines.append("      type \(d.type.rawValue), vendor \(d.vendor), platform \(d.platformName)")
                lines.append("      driver \(d.driverVersion), \(d.openCLVersion)")
                lines.append("      \(d.computeUnits) compute units, \(d.globalMemoryBytes / (1 << 20)) MiB global memory, "
                             + "\(d.localMemoryBytes / 1024) KiB local memory, work-groups up to \(d.maxWorkGroupSize)")
            }
        }
        lines.append("Native backend:")
        lines.append("  \(native)")
        lines.append("auto picks: \(autoChoice) — \(autoDevice)")
        lines.append("  because \(autoReason)")
        if let requested {
            lines.append("\(BackendKind.environmentVariable)=\(requested) is set and overrides auto.")
        }
        return lines.joined(separator: "\n")
    }
}

extension BackendSelection {
    /// Lists the devices and decides, by really constructing the OpenCL backend as `auto` would,
    /// which backend `auto` picks. Never throws: a missing driver is part of the report.
    public static func deviceReport(environment: [String: String] = ProcessInfo.processInfo.environment) -> DeviceReport {
        var devices: [OpenCLDeviceInfo] = []
        var listingProblem: String?
        do {
            devices = try OpenCLBackend.availableDevices()
        } catch {
            listingProblem = "\(error)"
        }
        let native = NativeBackend(precision: .float32)
        let requested = environment[BackendKind.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        switch probeOpenCL(environment: environment) {
        case let .success(backend):
            let selector = environment[openCLDeviceVariable].flatMap { $0.isEmpty ? nil : $0 }
            let why = selector.map { "\(openCLDeviceVariable)=\($0) selects it and it builds and runs the kernels" }
                ?? "it is the first GPU (or, with none, the first device) and it builds and runs the kernels"
            return DeviceReport(openCLDevices: devices, openCLListingProblem: listingProblem,
                                native: native.deviceDescription, autoChoice: .opencl,
                                autoDevice: backend.deviceDescription, autoReason: why, requested: requested)
        case let .failure(error):
            return DeviceReport(openCLDevices: devices, openCLListingProblem: listingProblem,
                                native: native.deviceDescription, autoChoice: .native,
                                autoDevice: native.deviceDescription,
                                autoReason: "no usable OpenCL device: \(error)", requested: requested)
        }
    }
}
