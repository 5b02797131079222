import Foundation
import NNCore

/// One device of a backend that `nn devices --check` runs the conformance suite on: the OpenCL
/// backend offers one per OpenCL device, the native backend one per precision.
public struct BackendTarget: Sendable {
    /// Shown in the check's summary: "native", "opencl [0] pthread-…".
    public let label: String
    public let make: @Sendable () throws -> any Backend

    public init(label: String, make: @escaping @Sendable () throws -> any Backend) {
        self.label = label
        self.make = make
    }
}

/// What a backend tells the registry about itself. Only `name`, `summary` and `factory` are
/// required; the probe, device list and report have defaults built from the factory.
public struct BackendRegistration: Sendable {
    /// What `--backend` and `NN_BACKEND` accept: lowercase letters, digits, `-` and `_`; not `auto`.
    public let name: String
    /// One line for `nn devices` and for the error listing the registered backends.
    public let summary: String
    /// How messages name its devices ("OpenCL" → "no usable OpenCL device").
    public let displayName: String
    /// Whether `auto` tries it before falling back to native. Accelerators are tried in registration order.
    public let isAccelerator: Bool
    /// Constructs the backend as configured by `environment` (e.g. `NN_OPENCL_DEVICE`), or throws why not.
    public let factory: @Sendable (_ environment: [String: String]) throws -> any Backend
    /// Whether the backend works here: the working backend, or why not. `auto` uses it, so it
    /// should run real work (the default constructs the backend and round-trips a fill), not just look.
    public let probe: @Sendable (_ environment: [String: String]) -> Result<any Backend, any Error>
    /// The devices `nn devices --check` verifies; throws why there are none.
    public let devices: @Sendable (_ environment: [String: String]) throws -> [BackendTarget]
    /// Lines for `nn devices` under the backend's summary (its devices and their properties).
    public let report: @Sendable (_ environment: [String: String]) -> [String]

    public init(name: String, summary: String, displayName: String? = nil, isAccelerator: Bool = false,
                factory: @escaping @Sendable (_ environment: [String: String]) throws -> any Backend,
                probe: (@Sendable (_ environment: [String: String]) -> Result<any Backend, any Error>)? = nil,
                devices: (@Sendable (_ environment: [String: String]) throws -> [BackendTarget])? = nil,
                report: (@Sendable (_ environment: [String: String]) -> [String])? = nil) {
        self.name = name
        self.summary = summary
        self.displayName = displayName ?? name
        self.isAccelerator = isAccelerator
        self.factory = factory
        let probe = probe ?? { environment in Result { try BackendRegistration.smokeTest(try factory(environment)) } }
        self.probe = probe
        self.devices = devices ?? { environment in
            [BackendTarget(label: name) { try factory(environment) }]
        }
        self.report = report ?? { environment in
            switch probe(environment) {
            case let .success(backend): return [backend.deviceDescription]
            case let .failure(error): return ["unusable: \(error)"]
            }
        }
    }

    /// Fills a 1×1 tensor with 1.5 and reads it back, so that a backend which constructs but cannot
    /// execute (a broken driver, a device out of memory) counts as unusable instead of failing mid-training.
    public static func smokeTest(_ backend: any Backend) throws -> any Backend {
        let probe = try backend.makeTensor(.scalar)
        try backend.fill(probe, with: 1.5)
        let value = try backend.download(probe)
        guard value == [1.5] else {
            throw NNError.backendUnavailable(
                backend: backend.name, reason: "\(backend.deviceDescription) ran a test fill of 1.5 and returned \(value)")
        }
        return backend
    }
}

/// The open set of backends `--backend NAME`, `NN_BACKEND`, `auto` and `nn devices` choose from.
///
/// ``shared`` starts with the built-in `opencl` and `native` (in that order, so `auto` tries OpenCL
/// first); a backend in another module or package adds itself with ``register(_:)`` before the
/// first selection, e.g. at the top of its `main.swift` or its test's `setUp`. Thread-safe.
public final class BackendRegistry: @unchecked Sendable {
    /// The registry every command and ``BackendSelection`` use unless given another.
    public static let shared = BackendRegistry()

    private let lock = NSLock()
    private var entries: [BackendRegistration]

    /// A registry holding the built-in backends, or none (for tests that want full control).
    public init(builtIns: Bool = true) {
        entries = builtIns ? BuiltInBackends.registrations : []
    }

    /// Every registration, in registration order.
    public var registrations: [BackendRegistration] {
        lock.withLock { entries }
    }

    /// Every registered name, in registration order.
    public var names: [String] { registrations.map(\.name) }

    public func registration(named name: String) -> BackendRegistration? {
        let wanted = BackendRequest(name).name
        return registrations.first { $0.name == wanted }
    }

    /// Adds a backend. Throws when the name is malformed, is `auto`, or is taken (replacing a
    /// built-in silently would change what `--backend native` means).
    public func register(_ registration: BackendRegistration) throws {
        let name = registration.name
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_")
        guard !name.isEmpty, name.allSatisfy(allowed.contains) else {
            throw NNError.invalidArgument(
                op: "backend registration",
                detail: "name '\(name)' must be non-empty lowercase letters, digits, '-' or '_' (it is typed after --backend)")
        }
        guard name != BackendRequest.auto.name else {
            throw NNError.invalidArgument(op: "backend registration", detail: "'auto' is the selection policy, not a backend name; pick another")
        }
        try lock.withLock {
            guard !entries.contains(where: { $0.name == name }) else {
                throw NNError.invalidArgument(
                    op: "backend registration",
                    detail: "a backend named '\(name)' is already registered; unregister it first or pick another name")
            }
            entries.append(registration)
        }
    }

    /// Removes a backend; returns whether one was registered under `name`.
    @discardableResult
    public func unregister(_ name: String) -> Bool {
        lock.withLock {
            let before = entries.count
            entries.removeAll { $0.name == name }
            return entries.count != before
        }
    }

    /// What `--backend` and `NN_BACKEND` accept: every registered name, then `auto`.
    public var choices: [String] { names + [BackendRequest.auto.name] }

    /// Parses a user-given name, case-insensitively; an unknown name's error lists the registered ones.
    public func request(parsing text: String) throws -> BackendRequest {
        let request = BackendRequest(text)
        guard request.isAuto || registration(named: request.name) != nil else {
            throw NNError.invalidArgument(
                op: "backend selection",
                detail: "unknown backend '\(text)'; choose one of \(choices.joined(separator: ", ")) "
                    + "(flag --backend or \(BackendRequest.environmentVariable))")
        }
        return request
    }
}
