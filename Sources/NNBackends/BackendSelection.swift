import Foundation
import NNCore
import NNNative
import NNOpenCL

/// Turns a user's backend request (a `--backend` flag or `NN_BACKEND`) into a working backend.
///
/// - `opencl`: the OpenCL backend on the device `NN_OPENCL_DEVICE` names (else the first GPU, else the
///   first device), or a thrown `NNError.backendUnavailable(backend:reason:)` that says why. Never a
///   silent fallback: a user who asks for OpenCL and gets the CPU would misread every timing.
/// - `native`: the native Swift backend, in float32.
/// - `auto` (the default): OpenCL when a device builds the kernels and runs one, else native, saying
///   why on exactly one line of the log (stderr by default).
public enum BackendSelection {
    /// Environment variable choosing the OpenCL device (an index or part of a name); read by OpenCL.
    public static let openCLDeviceVariable = "NN_OPENCL_DEVICE"

    /// The backend a request resolves to.
    ///
    /// - Parameters:
    ///   - kind: the requested kind; `nil` reads `NN_BACKEND` (unset or empty means `auto`).
    ///   - environment: where `NN_BACKEND` and `NN_OPENCL_DEVICE` are read (the process environment by default).
    ///   - log: receives the single line explaining an `auto` fallback; stderr by default.
    /// - Throws: `NNError.invalidArgument(op:detail:)` for an unknown `NN_BACKEND` value, and
    ///   `NNError.backendUnavailable(backend:reason:)` (or the device's own error) when `opencl` was
    ///   requested and cannot be used.
    public static func make(_ kind: BackendKind? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            log: (String) -> Void = writeToStandardError) throws -> any Backend {
        switch try kind ?? requestedKind(environment: environment) {
        case .native:
            return NativeBackend(precision: .float32)
        case .opencl:
            return try makeOpenCL(environment: environment)
        case .auto:
            switch probeOpenCL(environment: environment) {
            case let .success(backend):
                return backend
            case let .failure(error):
                log(fallbackMessage(for: error))
                return NativeBackend(precision: .float32)
            }
        }
    }

    /// The kind `NN_BACKEND` asks for: `auto` when unset or empty, an error naming the choices when unknown.
    public static func requestedKind(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> BackendKind {
        guard let text = environment[BackendKind.environmentVariable]?.trimmingCharacters(in: .whitespaces),
              !text.isEmpty else {
            return .auto
        }
        return try BackendKind(parsing: text)
    }

    /// The one line printed when `auto` falls back to the native backend.
    public static func fallbackMessage(for error: any Error) -> String {
        "nn: no usable OpenCL device (\(oneLine(error))); using the native backend. "
            + "Set \(BackendKind.environmentVariable)=native to silence this."
    }

    /// Writes one line to stderr.
    @Sendable
    public static func writeToStandardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The environment for one rank of a multi-process run on a host with `deviceCount` OpenCL
    /// devices: rank k on the host takes device k mod count, so ranks do not share one device, unless
    /// `NN_OPENCL_DEVICE` already names one (the user's choice wins) or there is only one device.
    public static func environment(forLocalRank localRank: Int, deviceCount: Int,
                                   environment: [String: String]) -> [String: String] {
        guard environment[openCLDeviceVariable] == nil, deviceCount > 1, localRank >= 0 else { return environment }
        var result = environment
        result[openCLDeviceVariable] = String(localRank % deviceCount)
        return result
    }

    // MARK: OpenCL construction

    static func makeOpenCL(environment: [String: String]) throws -> OpenCLBackend {
        try OpenCLBackend(deviceSelector: environment[openCLDeviceVariable] ?? "")
    }

    /// Constructs the OpenCL backend (which builds the kernel program for the device) and runs one
    /// tiny op through it, so that a driver which enumerates devices but cannot compile or execute —
    /// a broken ICD, a device out of memory — counts as unusable instead of failing mid-training.
    static func probeOpenCL(environment: [String: String]) -> Result<OpenCLBackend, any Error> {
        Result {
            let backend = try makeOpenCL(environment: environment)
            let probe = try backend.makeTensor(.scalar)
            try backend.fill(probe, with: 1.5)
            let value = try backend.download(probe)
            guard value == [1.5] else {
                throw NNError.backendUnavailable(
                    backend: "opencl",
                    reason: "\(backend.deviceDescription) ran a test fill of 1.5 and returned \(value)")
            }
            return backend
        }
    }

    /// An error's description on one line: build logs and device lists span many lines, and the
    /// fallback notice must stay one line. Long reasons are cut; `nn devices` shows them in full.
    static func oneLine(_ error: any Error, limit: Int = 400) -> String {
        let flat = "\(error)".split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: "; ")
        return flat.count <= limit ? flat : String(flat.prefix(limit)) + "…"
    }
}
