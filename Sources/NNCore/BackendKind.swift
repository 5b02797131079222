/// Which backend a user asked for, from a flag or the `NN_BACKEND` environment variable.
///
/// Deprecated: the set of backends is open now (NNBackends' `BackendRegistry`), so a request is a
/// name, `BackendRequest` in NNBackends. `BackendRequest(kind)` converts; `.opencl`, `.native` and
/// `.auto` are spelled the same on both. See the README's "Migration" section.
@available(*, deprecated, message: "use BackendRequest from NNBackends (any registered name, or auto); see README, Migration")
public enum BackendKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// OpenCL; an error if no device works.
    case opencl
    /// Native Swift loops on the CPU.
    case native
    /// OpenCL when a device builds the kernels, else native (saying why on one line of stderr).
    case auto

    public static let environmentVariable = "NN_BACKEND"

    /// Parses a user-given name, case-insensitively.
    public init(parsing text: String) throws {
        guard let kind = BackendKind(rawValue: text.lowercased()) else {
            throw NNError.invalidArgument(
                op: "backend selection",
                detail: "unknown backend '\(text)'; choose one of opencl, native, auto (flag --backend or \(Self.environmentVariable))")
        }
        self = kind
    }

    public var description: String { rawValue }
}
