import Foundation
import NNCore

/// The tree-structured Parzen estimator (Bergstra et al., 2011), the course's coarse-to-fine taken
/// to its conclusion: after `startupTrials` random trials, each new trial is drawn where good trials
/// are dense and bad ones are not.
///
/// The finished trials are split into the best γ (10 %, at most 25, at least 1) and the rest. For each
/// hyperparameter on its own (univariate, as Optuna's default), a density l(x) is fitted to the good
/// trials' values and g(x) to the others', each a mixture of one Gaussian per trial plus a wide prior,
/// on the scale the space declares: log₁₀ for rates, log₁₀(1 − β) for momentum-like parameters, the
/// option index for choices (there the "Gaussians" are counts). `candidates` values drawn from l are
/// scored by l(x)/g(x) and the best is taken.
///
/// It never waits: trials still running are simply not in the history. Draws come from a generator
/// keyed by (seed, round, trial), so the same history gives the same assignment.
public struct TPESampler: Sendable {
    /// Seeds every draw.
    public let seed: UInt64
    /// Random trials before the model takes over.
    public var startupTrials: Int
    /// Candidates drawn from the good trials' density per new trial.
    public var candidates: Int

    /// A finished trial, as every model-based sampler sees it.
    public typealias Observation = TrialObservation

    /// A tree-structured Parzen estimator with `startupTrials` random trials first.
    public init(seed: UInt64, startupTrials: Int = SamplerKind.startupTrials, candidates: Int = 24) {
        self.seed = seed
        self.startupTrials = startupTrials
        self.candidates = candidates
    }

    /// The size of the "good" group for `count` finished trials: Optuna's default γ.
    static func goodCount(_ count: Int) -> Int { min(max(Int((0.1 * Double(count)).rounded(.up)), 1), 25) }

    /// Trial `trial` of round `round`, drawn from `box` given the finished trials in `history`.
    public func assignment(round: Int, trial: Int, box: SearchBox, space: SearchSpace, history: [TrialObservation]) -> Assignment {
        let usable = history.filter { $0.objective.isFinite }
        guard usable.count >= max(startupTrials, 2) else {
            return RandomSampler(seed: seed).assignment(round: round, trial: trial, box: box, space: space)
        }
        let sorted = usable.sorted { $0.objective > $1.objective }
        let good = Array(sorted.prefix(Self.goodCount(sorted.count))), bad = Array(sorted.dropFirst(Self.goodCount(sorted.count)))
        var generator = SplitMix64(key: seed, UInt64(truncatingIfNeeded: round) << 32 | UInt64(truncatingIfNeeded: trial))
        var out: Assignment = [:]
        for entry in space.entries {
            let d = entry.distribution
            let bounds = box.bounds(of: entry.name) ?? d.fullBounds
            func coordinates(_ group: [Observation]) -> [Double] {
                group.compactMap { $0.assignment[entry.name].flatMap(d.coordinate(of:)) }
            }
            switch bounds {
            case let .interval(low, high):
                // An integer's values are the centres of unit cells, so its estimator spans the cells.
                let isInteger: Bool = { if case .integer = d { return true }; return false }()
                let (lo, hi) = isInteger ? (low - 0.5, high + 0.5) : (low, high)
                guard hi > lo else {
                    out[entry.name] = d.value(atCoordinate: low)
                    continue
                }
                let l = ParzenEstimator(points: coordinates(good).filter { $0 >= lo && $0 <= hi }, low: lo, high: hi)
                let g = ParzenEstimator(points: coordinates(bad).filter { $0 >= lo && $0 <= hi }, low: lo, high: hi)
                var best = l.sample(&generator), bestScore = -Double.infinity
                for _ in 0..<max(candidates, 1) {
                    let x = l.sample(&generator)
                    let score = l.logDensity(x) - g.logDensity(x)
                    if score > bestScore { (best, bestScore) = (x, score) }
                }
                let clamped = min(max(isInteger ? best.rounded() : best, low), high)
                out[entry.name] = d.value(atCoordinate: clamped)
            case let .options(indices):
                guard !indices.isEmpty else { continue }
                func weights(_ group: [Observation]) -> [Double] {
                    let chosen = coordinates(group).map { Int($0) }
                    // The prior: one pseudo-observation spread evenly over the options.
                    return indices.map { index in Double(chosen.filter { $0 == index }.count) + 1 / Double(indices.count) }
                }
                let l = weights(good), g = weights(bad)
                let lTotal = l.reduce(0, +), gTotal = g.reduce(0, +)
                var best = indices[0], bestScore = -Double.infinity
                for _ in 0..<max(candidates, 1) {
                    var u = generator.uniform() * lTotal
                    var pick = indices.count - 1
                    for (k, w) in l.enumerated() {
                        if u < w { pick = k; break }
                        u -= w
                    }
                    let score = log(l[pick] / lTotal) - log(g[pick] / gTotal)
                    if score > bestScore { (best, bestScore) = (indices[pick], score) }
                }
                out[entry.name] = d.value(atCoordinate: Double(best))
            }
        }
        return out
    }
}

/// A mixture of Gaussians truncated to [low, high], Optuna's estimator: one component per observed
/// point, its bandwidth the larger gap to its neighbours (an end point takes its one inner gap) clipped
/// to [range / min(100, n + 1), range], plus a prior component centred on the range with the whole range
/// as its width, so that a region no trial has tried keeps a chance.
struct ParzenEstimator {
    let low: Double, high: Double
    let means: [Double], sigmas: [Double]

    init(points: [Double], low: Double, high: Double) {
        self.low = low
        self.high = high
        let range = high - low
        let sorted = points.sorted()
        let minimum = range / min(100, Double(sorted.count) + 1)
        var sigmas: [Double] = []
        for (i, mu) in sorted.enumerated() {
            let gap: Double
            if sorted.count == 1 {
                gap = max(mu - low, high - mu)
            } else {
                let left = i > 0 ? mu - sorted[i - 1] : sorted[1] - sorted[0]
                let right = i + 1 < sorted.count ? sorted[i + 1] - mu : sorted[i] - sorted[i - 1]
                gap = max(left, right)
            }
            sigmas.append(min(max(gap, minimum), range))
        }
        means = sorted + [(low + high) / 2]
        self.sigmas = sigmas + [range]
    }

    func sample(_ generator: inout SplitMix64) -> Double {
        let k = min(Int(generator.uniform() * Double(means.count)), means.count - 1)
        // Rejection keeps the draw inside the range; a component that rarely lands there is clamped.
        for _ in 0..<64 {
            let x = means[k] + sigmas[k] * generator.normal()
            if x >= low && x <= high { return x }
        }
        return min(max(means[k], low), high)
    }

    func logDensity(_ x: Double) -> Double {
        var total = 0.0
        for (mu, sigma) in zip(means, sigmas) {
            let mass = Self.cdf((high - mu) / sigma) - Self.cdf((low - mu) / sigma)
            let z = (x - mu) / sigma
            total += exp(-0.5 * z * z) / (sigma * (2 * Double.pi).squareRoot() * max(mass, 1e-12))
        }
        return log(max(total / Double(means.count), 1e-300))
    }

    static func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
}

/// SplitMix64: a small, fast, well-mixed generator for the sampler's many draws per trial.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator for one (seed, key) pair. Both are hashed first: seeds one golden-ratio step apart
    /// would otherwise give the same stream shifted by one draw, and neighbouring trials the same values.
    init(key seed: UInt64, _ key: UInt64) {
        state = Self.mix(seed &+ Self.mix(key &+ 0x9E37_79B9_7F4A_7C15))
    }

    /// SplitMix64's output function: a bijection that scatters nearby inputs.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Standard normal by Box–Muller.
    mutating func normal() -> Double {
        let u = max(uniform(), 0x1p-53), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
