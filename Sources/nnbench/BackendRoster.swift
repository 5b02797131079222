import Foundation
import NNBackends
import NNCore
import NNNative

/// The backends one nnbench invocation compares, created once and reused by every suite.
struct BackendRoster {
    /// In table order: native first, then OpenCL, so the ratio column reads opencl / native.
    let backends: [any Backend]
    /// Backends that were not explicitly requested and could not be created, with the reason.
    let unavailable: [(name: String, reason: String)]

    /// Every registered backend, native first (the table's baseline), then in registration order.
    static var knownNames: [String] {
        let names = BackendRegistry.shared.names
        return names.filter { $0 == "native" } + names.filter { $0 != "native" }
    }

    /// Parses `--backend native,opencl`; nil means every backend that can be created here.
    static func parse(_ text: String?) throws -> [String]? {
        guard let text else { return nil }
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard !names.isEmpty else {
            throw NNError.invalidArgument(op: "nnbench", detail: "--backend is empty; give one or more of \(knownNames.joined(separator: ", ")), comma-separated")
        }
        for name in names where !knownNames.contains(name) {
            throw NNError.invalidArgument(
                op: "nnbench", detail: "unknown backend '\(name)' in --backend; choose from \(knownNames.joined(separator: ", "))")
        }
        var unique: [String] = []
        for name in names where !unique.contains(name) { unique.append(name) }
        let order = knownNames
        return unique.sorted { (order.firstIndex(of: $0) ?? .max) < (order.firstIndex(of: $1) ?? .max) }
    }

    /// Creates the requested backends. An explicitly requested backend that fails is an error;
    /// when none were named, an unavailable OpenCL is reported and left out.
    ///
    /// `threads` caps both backends: the native backend's worker count, and PoCL's CPU device,
    /// which reads its thread count once, when the first OpenCL call in the process initialises the
    /// platform — so it is set here, before the OpenCL backend exists. PoCL 3 reads
    /// `POCL_MAX_PTHREAD_COUNT` (checked here: `clinfo` then reports that many compute units);
    /// PoCL 4 and later renamed it `POCL_CPU_MAX_CU_COUNT`, so both are set.
    static func make(requested: [String]?, threads: Int?, log: (String) -> Void) throws -> BackendRoster {
        if let threads {
            setenv("POCL_MAX_PTHREAD_COUNT", String(threads), 1)
            setenv("POCL_CPU_MAX_CU_COUNT", String(threads), 1)
        }
        var backends: [any Backend] = []
        var unavailable: [(String, String)] = []
        for name in requested ?? knownNames {
            do {
                if name == "native" {
                    backends.append(NativeBackend(precision: .float32, threads: threads))
                } else if let registration = BackendRegistry.shared.registration(named: name) {
                    backends.append(try registration.factory(ProcessInfo.processInfo.environment))
                }
            } catch {
                guard requested == nil else {
                    throw NNError.backendUnavailable(backend: name, reason: "\(error)")
                }
                log("nnbench: leaving out \(name): \(error)")
                unavailable.append((name, "\(error)"))
            }
        }
        return BackendRoster(backends: backends, unavailable: unavailable)
    }
}
