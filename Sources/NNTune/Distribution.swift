import Foundation

/// How one hyperparameter is drawn.
///
/// Every distribution is uniform in its own *search coordinate*: the value itself for `uniform`
/// and `integer`, r = log₁₀ v for `logUniform`, r = log₁₀(1 − v) for `oneMinusLogUniform`, the
/// option index for `choice`. Sampling, grids and coarse-to-fine shrinking all work on that
/// coordinate, so a learning rate in [1e-4, 1] gets as many draws in [1e-4, 1e-3] as in [0.1, 1],
/// and β in [0.9, 0.999] as many in [0.99, 0.999] as in [0.9, 0.99].
public enum Distribution: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A real value uniform in [low, high].
    case uniform(low: Double, high: Double)
    /// An integer uniform in low...high.
    case integer(low: Int, high: Int)
    /// v = 10^r with r uniform in [log₁₀ low, log₁₀ high]; 0 < low ≤ high.
    case logUniform(low: Double, high: Double)
    /// v = 1 − 10^r with r uniform in [log₁₀(1 − high), log₁₀(1 − low)]; low ≤ high < 1.
    case oneMinusLogUniform(low: Double, high: Double)
    /// One of the listed values, each equally likely.
    case choice([ParameterValue])

    /// The syntax the search-space file accepts, with bounds written to round-trip exactly.
    public var description: String {
        switch self {
        case let .uniform(a, b): return "uniform(\(a), \(b))"
        case let .integer(a, b): return "int(\(a), \(b))"
        case let .logUniform(a, b): return "logUniform(\(a), \(b))"
        case let .oneMinusLogUniform(a, b): return "oneMinusLogUniform(\(a), \(b))"
        case let .choice(values):
            let items = values.map { v -> String in
                if case let .text(s) = v { return "\"\(s)\"" }
                return v.argument
            }
            return "choice(\(items.joined(separator: ", ")))"
        }
    }

    /// True when the search coordinate is logarithmic (plots use a log axis for these).
    public var isLogarithmic: Bool {
        switch self {
        case .logUniform, .oneMinusLogUniform: return true
        default: return false
        }
    }

    /// Bounds beyond this magnitude are refused: integers up to it convert to `Int` and back to
    /// `Double` exactly, and the widths sampling multiplies by stay finite.
    public static let maximumMagnitude = 1e15
    /// A choice longer than this is surely a mistake (a generated list), and would make every draw,
    /// report and stored box carry it.
    public static let maximumChoiceValues = 1_000
    /// The longest text a choice value may be (a `layers` list of 64 sizes needs under 400).
    public static let maximumTextLength = 1_000

    /// Throws unless the bounds make sense; `entry` names the hyperparameter in the message.
    public func validate(entry: String) throws {
        func finite(_ a: Double, _ b: Double) throws {
            guard a.isFinite, b.isFinite else {
                throw TuneError.invalidSpace(entry: entry, detail: "\(self): bounds must be finite numbers")
            }
            guard abs(a) <= Self.maximumMagnitude, abs(b) <= Self.maximumMagnitude else {
                throw TuneError.invalidSpace(
                    entry: entry, detail: "\(self): bounds must lie within ±\(formatLimit(Self.maximumMagnitude))")
            }
        }
        func ordered<T: Comparable>(_ a: T, _ b: T) throws {
            guard a <= b else {
                throw TuneError.invalidSpace(entry: entry, detail: "\(self): lower bound \(a) exceeds upper bound \(b); swap them")
            }
        }
        switch self {
        case let .uniform(a, b):
            try finite(a, b)
            try ordered(a, b)
        case let .integer(a, b):
            try finite(Double(a), Double(b))
            try ordered(a, b)
        case let .logUniform(a, b):
            try finite(a, b)
            try ordered(a, b)
            guard a > 0 else {
                throw TuneError.invalidSpace(
                    entry: entry,
                    detail: "\(self): a log range needs both bounds > 0 (log₁₀ of \(a) is undefined); use a small positive lower bound such as 1e-6")
            }
        case let .oneMinusLogUniform(a, b):
            try finite(a, b)
            try ordered(a, b)
            guard b < 1 else {
                throw TuneError.invalidSpace(
                    entry: entry,
                    detail: "\(self): the upper bound must be < 1 because 1 − \(b) has no logarithm; use e.g. 0.999")
            }
            guard a >= 0 else {
                throw TuneError.invalidSpace(entry: entry, detail: "\(self): the lower bound must be ≥ 0")
            }
        case let .choice(values):
            try Self.validateChoice(values, entry: entry)
        }
    }

    /// Checks a choice's values one by one and for duplicates in linear time (a quadratic scan took
    /// 100 s on 200,000 values); the count is checked first so nothing long is scanned at all.
    private static func validateChoice(_ values: [ParameterValue], entry: String) throws {
        guard !values.isEmpty else {
            throw TuneError.invalidSpace(entry: entry, detail: "choice() needs at least one value")
        }
        guard values.count <= maximumChoiceValues else {
            throw TuneError.invalidSpace(
                entry: entry,
                detail: "choice lists \(values.count) values, more than the limit of \(maximumChoiceValues); use a range such as int(a, b) or logUniform(a, b)")
        }
        var seen = Set<ChoiceKey>()
        for v in values {
            switch v {
            case let .text(s):
                guard s.count <= maximumTextLength else {
                    throw TuneError.invalidSpace(
                        entry: entry, detail: "a choice value is \(s.count) characters long, more than the limit of \(maximumTextLength)")
                }
            case .real, .integer:
                let x = v.numericValue ?? .nan
                guard x.isFinite else {
                    throw TuneError.invalidSpace(entry: entry, detail: "choice value \(x) must be finite")
                }
                guard abs(x) <= maximumMagnitude else {
                    throw TuneError.invalidSpace(
                        entry: entry, detail: "choice value \(v) lies outside ±\(formatLimit(maximumMagnitude))")
                }
            }
            guard seen.insert(ChoiceKey(v)).inserted else {
                throw TuneError.invalidSpace(entry: entry, detail: "choice lists \(v) twice")
            }
        }
    }

    /// A choice value as ``ParameterValue/matches(_:)`` compares it: numbers by value (3 equals 3.0), text by text.
    private enum ChoiceKey: Hashable {
        case number(Double)
        case text(String)

        init(_ v: ParameterValue) {
            if case let .text(s) = v { self = .text(s) } else { self = .number(v.numericValue ?? .nan) }
        }
    }

    // MARK: Search coordinates

    /// The whole range, in search coordinates.
    public var fullBounds: Bounds {
        switch self {
        case let .uniform(a, b): return .interval(low: a, high: b)
        case let .integer(a, b): return .interval(low: Double(a), high: Double(b))
        case let .logUniform(a, b): return .interval(low: log10(a), high: log10(b))
        case let .oneMinusLogUniform(a, b): return .interval(low: log10(1 - b), high: log10(1 - a))
        case let .choice(values): return .options(Array(values.indices))
        }
    }

    /// The value at search coordinate `c` (an option index for `choice`).
    public func value(atCoordinate c: Double) -> ParameterValue {
        switch self {
        case .uniform: return .real(c)
        case .integer: return .integer(clampedInt(c.rounded()))
        case .logUniform: return .real(pow(10, c))
        case .oneMinusLogUniform: return .real(1 - pow(10, c))
        case let .choice(values): return values[min(max(clampedInt(c), 0), values.count - 1)]
        }
    }

    /// The search coordinate of `value`, or nil when the value cannot come from this distribution.
    public func coordinate(of value: ParameterValue) -> Double? {
        if case let .choice(values) = self {
            return values.firstIndex(where: { $0.matches(value) }).map(Double.init)
        }
        guard let v = value.numericValue else { return nil }
        switch self {
        case .uniform, .integer: return v
        case .logUniform: return v > 0 ? log10(v) : nil
        case .oneMinusLogUniform: return v < 1 ? log10(1 - v) : nil
        case .choice: return nil
        }
    }

    /// The value drawn by a uniform variate `u` in [0, 1) within `bounds`.
    public func sample(in bounds: Bounds, u: Double) -> ParameterValue {
        switch (self, bounds) {
        case let (.integer, .interval(lo, hi)):
            let low = clampedInt(lo.rounded(.up)), high = clampedInt(hi.rounded(.down))
            guard high > low else { return .integer(low) }
            // In Double: high − low + 1 can exceed Int for bounds that bypassed validation.
            return .integer(min(clampedInt(Double(low) + (u * (Double(high) - Double(low) + 1)).rounded(.down)), high))
        case let (_, .interval(lo, hi)):
            return value(atCoordinate: lo + u * (hi - lo))
        case let (_, .options(indices)):
            guard !indices.isEmpty else { return value(atCoordinate: 0) }
            let i = indices[min(max(clampedInt(u * Double(indices.count)), 0), indices.count - 1)]
            return value(atCoordinate: Double(i))
        }
    }

    /// `points` values evenly spaced in search coordinates across `bounds`, both ends included
    /// (every option for `choice`; duplicates after integer rounding dropped).
    public func gridValues(in bounds: Bounds, points: Int) -> [ParameterValue] {
        switch (self, bounds) {
        case let (_, .options(indices)):
            return indices.map { value(atCoordinate: Double($0)) }
        case let (_, .interval(lo, hi)):
            let n = max(points, 1)
            let coordinates = n == 1 || lo == hi
                ? [(lo + hi) / 2]
                : (0..<n).map { lo + Double($0) * (hi - lo) / Double(n - 1) }
            var out: [ParameterValue] = []
            var seen = Set<ChoiceKey>()
            for c in coordinates {
                let v = value(atCoordinate: c)
                if seen.insert(ChoiceKey(v)).inserted { out.append(v) }
            }
            return out
        }
    }
}

/// The part of one hyperparameter's range still searched: an interval of search coordinates,
/// or a subset of a choice's option indices.
public enum Bounds: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A range of coordinates (the log of the value for logarithmic distributions).
    case interval(low: Double, high: Double)
    /// Indices of the choices still in play.
    case options([Int])

    public var description: String {
        switch self {
        case let .interval(lo, hi): return "[\(lo), \(hi)]"
        case let .options(i): return "{\(i.map(String.init).joined(separator: ", "))}"
        }
    }
}

/// `x` truncated toward zero as an `Int`, NaN as 0 and beyond `Int`'s range its nearest end: for
/// coordinates that validation keeps in range anyway, where `Int(_:)` would trap on a stray value.
func clampedInt(_ x: Double) -> Int {
    guard !x.isNaN else { return 0 }
    if x >= 0x1p63 { return .max }
    if x < -0x1p63 { return .min }
    return Int(x)
}

/// A limit for messages: 1000 or 1e+15, not 1000.0 or 1000000000000000.0.
func formatLimit(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(format: "%g", x)
}
