import Foundation

/// An axis range snapped outward to round ticks. The step is 1, 2 or 5 × 10^k in the unit the
/// axis shows (percent for accuracy, whole epochs), so a reader sees 0.1, 0.2 … or 84 %, 86 % …
/// rather than 87.3 %, 88.9 %, and every tick value is a multiple of the step.
public struct NiceScale: Equatable, Sendable {
    /// Distance between ticks.
    public let step: Double
    /// The ticks are `step` times each of these whole numbers; keeping them integral keeps
    /// 3 × 0.1 from drifting into the labels or the range.
    private let multiples: ClosedRange<Int>

    /// The first tick.
    public var lower: Double { Double(multiples.lowerBound) * step }
    /// The last tick.
    public var upper: Double { Double(multiples.upperBound) * step }
    /// Every tick, from lower to upper.
    public var ticks: [Double] { multiples.map { Double($0) * step } }

    /// The finest round step whose snapped range covers `low…high` with at most `maxTicks` ticks.
    /// A `minimumStep` of 1 keeps whole-number quantities such as epochs off fractional ticks.
    public init(covering low: Double, _ high: Double, maxTicks: Int = 6, minimumStep: Double = 0) {
        var (low, high) = low.isFinite && high.isFinite ? (min(low, high), max(low, high)) : (0, 1)
        if high - low <= 1e-12 * max(abs(low), abs(high)) {
            // One value: open a small range around it so the step stays at its scale.
            let half = low == 0 ? 0.5 : abs(low) * 0.05
            (low, high) = (low - half, high + half)
        }
        let maxTicks = max(maxTicks, 2)
        var step = Self.roundStep(atLeast: max((high - low) / Double(maxTicks - 1), minimumStep))
        while true {
            // The slack keeps a value that sits on a tick (0.3 as 0.30000000000000004) from adding another.
            let first = Int(((low / step) + 1e-9).rounded(.down)), last = Int(((high / step) - 1e-9).rounded(.up))
            if last - first + 1 <= maxTicks {
                self.step = step
                multiples = first...max(last, first + 1)
                return
            }
            step = Self.roundStep(atLeast: step * 1.5)
        }
    }

    /// Where `value` lies across the range: 0 at `lower`, 1 at `upper`.
    public func fraction(_ value: Double) -> Double { (value - lower) / (upper - lower) }

    /// `value` with as many decimals as the step needs (step 0.05: two), then `suffix`; for
    /// percentages pass " %", the tables' spelling.
    public func label(_ value: Double, suffix: String = "") -> String {
        let decimals = max(0, -Int((Foundation.log10(step) + 1e-9).rounded(.down)))
        // Rounding to the step first keeps -0.0 and 0.30000000000000004 out of the text.
        let rounded = (value / step).rounded() * step
        return String(format: "%.\(decimals)f", rounded == 0 ? 0 : rounded) + suffix
    }

    /// The smallest of 1, 2, 5 × 10^k that is at least `raw`.
    private static func roundStep(atLeast raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, Foundation.log10(raw).rounded(.down))
        return [1.0, 2, 5].map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-9) } ?? 10 * magnitude
    }
}
