import Foundation
import NNCore
import NNNative
import NNOpenCL

/// Turns a user's backend request (a `--backend` flag or `NN_BACKEND`) into a working backend, from
/// the backends registered in a ``BackendRegistry`` (``BackendRegistry/shared`` by default).
///
/// - a registered name (`opencl`, `native`, or one a package registered): that backend, or its
///   thrown error saying why not. Never a silent fallback: a user who asks for OpenCL and gets the
///   CPU would misread every timing.
/// - `auto` (the default): the first accelerator, in registration order, whose probe works (the
///   built-in OpenCL backend builds the kernels and runs one), else native, saying why on exactly
///   one line of the log (stderr by default).
public enum BackendSelection {
    /// Environment variable choosing the OpenCL device (an index or part of a name); read by OpenCL.
    public static let openCLDeviceVariable = "NN_OPENCL_DEVICE"

    /// The backend a request resolves to.
    ///
    /// - Parameters:
    ///   - request: the requested backend; `nil` reads `NN_BACKEND` (unset or empty means `auto`).
    ///   - environment: where `NN_BACKEND` and the backends' own settings (`NN_OPENCL_DEVICE`) are read.
    ///   - registry: the backends to choose from.
    ///   - log: receives the single line explaining an `auto` fallback; stderr by default.
    /// - Throws: `NNError.invalidArgument(op:detail:)` for an unregistered name, and the backend's
    ///   own error (`NNError.backendUnavailable(backend:reason:)`, a device error) when a named
    ///   backend cannot be used.
    public static func make(_ request: BackendRequest? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            registry: BackendRegistry = .shared,
                            log: (String) -> Void = writeToStandardError) throws -> any Backend {
        let request = try request.map { try registry.request(parsing: $0.name) }
            ?? requestedKind(environment: environment, registry: registry)
        guard request.isAuto else {
            // request(parsing:) vouched for the name; a concurrent unregister is the only way here.
            guard let registration = registry.registration(named: request.name) else {
                throw NNError.backendUnavailable(backend: request.name, reason: "it was unregistered during selection")
            }
            return try registration.factory(environment)
        }
        var failures: [(registration: BackendRegistration, error: any Error)] = []
        for registration in registry.registrations where registration.isAccelerator {
            switch registration.probe(environment) {
            case let .success(backend): return backend
            case let .failure(error): failures.append((registration, error))
            }
        }
        guard let native = registry.registration(named: BackendRequest.native.name) else {
            throw NNError.backendUnavailable(
                backend: "auto", reason: "no accelerator works and no 'native' backend is registered to fall back on")
        }
        if !failures.isEmpty {
            log(fallbackMessage(for: failures.map { ($0.registration.displayName, $0.error) }))
        }
        return try native.factory(environment)
    }

    /// The request `NN_BACKEND` makes: `auto` when unset or empty, an error naming the choices when unknown.
    public static func requestedKind(environment: [String: String] = ProcessInfo.processInfo.environment,
                                     registry: BackendRegistry = .shared) throws -> BackendRequest {
        guard let text = environment[BackendRequest.environmentVariable]?.trimmingCharacters(in: .whitespaces),
              !text.isEmpty else {
            return .auto
        }
        return try registry.request(parsing: text)
    }

    /// The one line printed when `auto` falls back to the native backend because OpenCL failed.
    public static func fallbackMessage(for error: any Error) -> String {
        fallbackMessage(for: [("OpenCL", error)])
    }

    /// The one line printed when `auto` falls back to native: each accelerator that failed, and why.
    public static func fallbackMessage(for failures: [(displayName: String, error: any Error)]) -> String {
        let reasons = failures.map { "\($0.displayName) device (\(oneLine($0.error)))" }.joined(separator: " or ")
        return "nn: no usable \(reasons); using the native backend. "
            + "Set \(BackendRequest.environmentVariable)=native to silence this."
    }

    /// Writes one line to stderr.
    @Sendable
    public static func writeToStandardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The environment for one rank of a multi-process run on a host whose OpenCL devices are
    /// `devices`: rank k on the host takes the k-th (mod count) of ``rankDevices(of:)``, so ranks do
    /// not share one device, unless `NN_OPENCL_DEVICE` already names one (the user's choice wins) or
    /// there is only one to take (which the default selection picks anyway).
    public static func environment(forLocalRank localRank: Int, devices: [OpenCLDeviceInfo],
                                   environment: [String: String]) -> [String: String] {
        let pool = rankDevices(of: devices)
        guard environment[openCLDeviceVariable] == nil, pool.count > 1, localRank >= 0 else { return environment }
        var result = environment
        result[openCLDeviceVariable] = String(pool[localRank % pool.count].index)
        return result
    }

    /// The devices ranks spread over: the GPUs when there are any, as a single process would pick one
    /// of them, else every device. A CPU driver installed beside the GPUs (PoCL often is) must not get
    /// a rank: data parallelism waits for the slowest rank at every step.
    public static func rankDevices(of devices: [OpenCLDeviceInfo]) -> [OpenCLDeviceInfo] {
        let gpus = devices.filter { $0.type == .gpu }
        return gpus.isEmpty ? devices : gpus
    }

    // MARK: OpenCL construction

    static func makeOpenCL(environment: [String: String]) throws -> OpenCLBackend {
        try OpenCLBackend(deviceSelector: environment[openCLDeviceVariable] ?? "")
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
