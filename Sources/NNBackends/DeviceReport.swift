import Foundation
import NNCore
import NNOpenCL

/// One registered backend as `nn devices` shows it.
public struct BackendReportEntry: Sendable {
    public let name: String
    public let summary: String
    /// The registration's report: its devices and their properties.
    public let lines: [String]
}

/// What `nn devices` prints: every registered backend with its devices, and which backend `auto`
/// would pick and why.
public struct DeviceReport: Sendable, CustomStringConvertible {
    /// Every registered backend, in registration order.
    public let backends: [BackendReportEntry]
    /// Every device of every OpenCL platform, in the order `NN_OPENCL_DEVICE` indexes them.
    public let openCLDevices: [OpenCLDeviceInfo]
    /// Why OpenCL devices could not be listed (no ICD, no platform), nil when listing worked.
    public let openCLListingProblem: String?
    /// The native backend's description (threads, precision).
    public let native: String
    /// The backend `auto` picks on this machine now.
    public let autoChoice: BackendRequest
    /// The device `auto` uses, as its backend describes it.
    public let autoDevice: String
    /// Why `auto` picks what it picks, in full (an accelerator's complete error, build log included).
    public let autoReason: String
    /// `NN_BACKEND` as set in the environment, if it is.
    public let requested: String?

    public var description: String {
        var lines = ["Backends (choose with --backend NAME or \(BackendRequest.environmentVariable)=NAME):"]
        for entry in backends {
            lines.append("  \(entry.name): \(entry.summary)")
            lines += entry.lines.map { "    " + $0 }
        }
        lines.append("auto picks: \(autoChoice) — \(autoDevice)")
        lines.append("  because \(autoReason)")
        if let requested {
            lines.append("\(BackendRequest.environmentVariable)=\(requested) is set and overrides auto.")
        }
        return lines.joined(separator: "\n")
    }
}

extension BackendSelection {
    /// Lists every registered backend and decides, by really probing each accelerator as `auto`
    /// would, which backend `auto` picks. Never throws: a missing driver is part of the report.
    public static func deviceReport(environment: [String: String] = ProcessInfo.processInfo.environment,
                                    registry: BackendRegistry = .shared) -> DeviceReport {
        var devices: [OpenCLDeviceInfo] = []
        var listingProblem: String?
        do {
            devices = try OpenCLBackend.availableDevices()
        } catch {
            listingProblem = "\(error)"
        }
        let registrations = registry.registrations
        let entries = registrations.map { BackendReportEntry(name: $0.name, summary: $0.summary, lines: $0.report(environment)) }
        let native = (try? registry.registration(named: BackendRequest.native.name)?.factory(environment))?.deviceDescription
            ?? "not registered"
        let requested = environment[BackendRequest.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        var failures: [String] = []
        for registration in registrations where registration.isAccelerator {
            switch registration.probe(environment) {
            case let .success(backend):
                let selector = registration.name == BackendRequest.opencl.name
                    ? environment[openCLDeviceVariable].flatMap { $0.isEmpty ? nil : $0 } : nil
                let why = selector.map { "\(openCLDeviceVariable)=\($0) selects it and it builds and runs the kernels" }
                    ?? "it is the first accelerator in registration order that works here (its probe ran a test op)"
                return DeviceReport(backends: entries, openCLDevices: devices, openCLListingProblem: listingProblem,
                                    native: native, autoChoice: BackendRequest(registration.name),
                                    autoDevice: backend.deviceDescription, autoReason: why, requested: requested)
            case let .failure(error):
                failures.append("no usable \(registration.displayName) device: \(error)")
            }
        }
        return DeviceReport(backends: entries, openCLDevices: devices, openCLListingProblem: listingProblem,
                            native: native, autoChoice: .native, autoDevice: native,
                            autoReason: failures.isEmpty ? "no accelerator is registered" : failures.joined(separator: "; "),
                            requested: requested)
    }
}
