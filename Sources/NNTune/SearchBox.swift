import Foundation

/// The region of a search space one round samples from: per hyperparameter, an interval of search
/// coordinates (log₁₀ for log distributions) or a subset of a choice's options.
///
/// Coarse to fine: after a round, ``shrunk(around:in:keepFraction:)`` narrows each interval to
/// the span of the round's best trials plus a margin, never leaving the current box, so the best
/// trial found so far is always inside the next round's box.
public struct SearchBox: Sendable, Equatable, Codable, CustomStringConvertible {
    /// One hyperparameter's bounds in the box.
    public struct Item: Sendable, Equatable, Codable {
        /// The hyperparameter's name.
        public let name: String
        /// Its bounds in this round.
        public let bounds: Bounds
    }

    /// Every searched hyperparameter's bounds, in the space's order.
    public let bounds: [Item]

    /// A box with these bounds.
    public init(bounds: [Item]) {
        self.bounds = bounds
    }

    /// The bounds of `name`, or nil when it is not searched.
    public func bounds(of name: String) -> Bounds? {
        bounds.first { $0.name == name }?.bounds
    }

    /// Each interval widens by this fraction of its current width on both sides of the best trials' span.
    public static let margin = 0.1
    /// An interval never shrinks below this fraction of its current width in one round, so a round
    /// whose best trials agree still leaves room to search.
    public static let minimumWidthFraction = 0.2

    /// True when every value of `assignment` lies in the box. Interval ends get a slack of 1e-9 of
    /// the interval's width: a value's coordinate is recomputed through log₁₀ and 10^x, which may
    /// move it by a few ulps across an end it was drawn exactly at.
    public func contains(_ assignment: Assignment, in space: SearchSpace) -> Bool {
        for item in bounds {
            guard let distribution = space.distribution(of: item.name),
                  let value = assignment[item.name],
                  let c = distribution.coordinate(of: value) else { return false }
            switch item.bounds {
            case let .interval(lo, hi):
                let slack = 1e-9 * max(hi - lo, abs(lo), 1e-300)
                if case .integer = distribution {
                    if c < lo.rounded(.down) || c > hi.rounded(.up) { return false }
                } else if c < lo - slack || c > hi + slack {
                    return false
                }
            case let .options(indices):
                if !indices.contains(Int(c)) { return false }
            }
        }
        return true
    }

    /// The next round's box around the best `keepFraction` of `trials` (at least one), sorted by
    /// objective, higher is better. Trials without a coordinate in this space are ignored.
    public func shrunk(around trials: [(assignment: Assignment, objective: Double)], in space: SearchSpace,
                       keepFraction: Double) -> SearchBox {
        let ranked = trials.filter { $0.objective.isFinite }.sorted { $0.objective > $1.objective }
        guard !ranked.isEmpty else { return self }
        let keep = max(1, Int((Double(ranked.count) * keepFraction).rounded(.up)))
        let best = ranked.prefix(keep)
        var items: [Item] = []
        for item in bounds {
            guard let distribution = space.distribution(of: item.name) else {
                items.append(item)
                continue
            }
            let coordinates = best.compactMap { t in t.assignment[item.name].flatMap { distribution.coordinate(of: $0) } }
            guard let lowest = coordinates.min(), let highest = coordinates.max() else {
                items.append(item)
                continue
            }
            switch item.bounds {
            case let .interval(lo, hi):
                let width = hi - lo
                var newLo = lowest - Self.margin * width
                var newHi = highest + Self.margin * width
                let minimum = Self.minimumWidthFraction * width
                if newHi - newLo < minimum {
                    let centre = (lowest + highest) / 2
                    newLo = centre - minimum / 2
                    newHi = centre + minimum / 2
                }
                // Slide a window that pokes out of the box back in before clipping, so it keeps its width.
                if newLo < lo { newHi += lo - newLo; newLo = lo }
                if newHi > hi { newLo -= newHi - hi; newHi = hi }
                newLo = max(newLo, lo)
                if case .integer = distribution {
                    newLo = newLo.rounded(.down)
                    newHi = newHi.rounded(.up)
                }
                items.append(Item(name: item.name, bounds: .interval(low: min(newLo, lowest), high: max(newHi, highest))))
            case let .options(indices):
                let kept = indices.filter { i in coordinates.contains(Double(i)) }
                items.append(Item(name: item.name, bounds: .options(kept.isEmpty ? indices : kept)))
            }
        }
        return SearchBox(bounds: items)
    }

    /// One line per hyperparameter, in values (not coordinates), e.g. `lr ∈ [0.0001, 0.01] (log)`.
    public func describe(in space: SearchSpace) -> [String] {
        bounds.map { item in
            guard let d = space.distribution(of: item.name) else { return "\(item.name) \(item.bounds)" }
            switch item.bounds {
            case let .interval(lo, hi):
                let a = d.value(atCoordinate: lo), b = d.value(atCoordinate: hi)
                let (first, last) = (a.numericValue ?? 0) <= (b.numericValue ?? 0) ? (a, b) : (b, a)
                return "\(item.name) ∈ [\(Self.format(first)), \(Self.format(last))]\(d.isLogarithmic ? " (log scale)" : "")"
            case let .options(indices):
                return "\(item.name) ∈ {\(indices.map { d.value(atCoordinate: Double($0)).argument }.joined(separator: ", "))}"
            }
        }
    }

    public var description: String {
        bounds.map { "\($0.name) \($0.bounds)" }.joined(separator: "; ")
    }

    /// A value as tables print it: reals with four significant digits.
    public static func format(_ v: ParameterValue) -> String {
        guard case let .real(x) = v else { return v.argument }
        return formatNumber(x)
    }
}

/// An accuracy as the tables print it: "84.42 %" (one unit for a quantity everywhere it appears).
func formatPercent(_ fraction: Double) -> String { String(format: "%.2f %%", 100 * fraction) }

/// Four significant digits: enough to tell trials apart in a table, short enough to read.
func formatNumber(_ x: Double) -> String {
    if x == 0 { return "0" }
    let magnitude = abs(x)
    if magnitude >= 1e-3 && magnitude < 1e5 {
        var s = String(format: "%.4g", x)
        if s.contains("e") { s = String(format: "%.4f", x) }
        return s
    }
    return String(format: "%.3e", x)
}
