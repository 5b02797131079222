/// Why a multi-process run cannot go on. Every case names the problem and what to do.
public enum DistributedError: Error, CustomStringConvertible, Equatable, Sendable {
    /// MPI was asked for but this build or machine cannot provide it.
    case unavailable(String)
    /// The transport reported a failure.
    case transport(call: String, detail: String)
    /// The ranks disagree on something that must be identical (data, settings, model, run state).
    case mismatch(String)
    /// A bad argument to a collective (a root outside the ranks, a size that differs between calls).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .unavailable(detail): return "MPI unavailable: \(detail)"
        case let .transport(call, detail): return "MPI call \(call) failed: \(detail)"
        case let .mismatch(detail): return "ranks disagree: \(detail)"
        case let .invalidArgument(detail): return "invalid distributed setting: \(detail)"
        }
    }
}
