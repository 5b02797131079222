/// One sampled hyperparameter value: a real number, an integer, or a text choice.
///
/// Stored in the study database as a plain JSON scalar. A JSON number without a fractional part
/// reads back as `.integer`; every numeric consumer goes through ``numericValue``, so a real value
/// that happens to be integral loses nothing.
public enum ParameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A real number.
    case real(Double)
    /// A whole number.
    case integer(Int)
    /// Text.
    case text(String)

    /// The value as a number, or nil for text.
    public var numericValue: Double? {
        switch self {
        case let .real(v): return v
        case let .integer(v): return Double(v)
        case .text: return nil
        }
    }

    /// The value as written on an `nn train` command line: the shortest text that reads back exactly.
    public var argument: String {
        switch self {
        case let .real(v): return v.description
        case let .integer(v): return String(v)
        case let .text(v): return v
        }
    }

    public var description: String { argument }

    /// Numbers compare by value (3 equals 3.0), text by text.
    public func matches(_ other: ParameterValue) -> Bool {
        if let a = numericValue, let b = other.numericValue { return a == b }
        if case let .text(a) = self, case let .text(b) = other { return a == b }
        return false
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            self = .text(s)
        } else if let i = try? c.decode(Int.self) {
            self = .integer(i)
        } else {
            self = .real(try c.decode(Double.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .real(v): try c.encode(v)
        case let .integer(v): try c.encode(v)
        case let .text(v): try c.encode(v)
        }
    }
}

/// The hyperparameter values of one trial, by name.
public typealias Assignment = [String: ParameterValue]
