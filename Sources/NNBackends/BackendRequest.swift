import Foundation
import NNCore

/// Which backend a user asked for, by name: from a `--backend` flag or the `NN_BACKEND` environment
/// variable. Any name registered in ``BackendRegistry`` is valid, plus `auto` (the selection policy
/// of ``BackendSelection/make(_:environment:registry:log:)``). Replaces NNCore's closed `BackendKind`.
public struct BackendRequest: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The requested name, trimmed and lowercased.
    public let name: String

    public static let environmentVariable = "NN_BACKEND"
    /// The first usable accelerator in registration order, else native (saying why on one line).
    public static let auto = BackendRequest("auto")
    public static let native = BackendRequest("native")
    public static let opencl = BackendRequest("opencl")

    /// A request for `name`, unchecked: ``BackendRegistry/request(parsing:)`` checks that it is registered.
    public init(_ name: String) {
        self.name = name.trimmingCharacters(in: .whitespaces).lowercased()
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// The request a deprecated `BackendKind` stands for.
    @available(*, deprecated, message: "BackendKind is replaced by BackendRequest; see README, Migration")
    public init(_ kind: BackendKind) { self.init(kind.rawValue) }

    public var isAuto: Bool { self == .auto }
    public var description: String { name }
}
