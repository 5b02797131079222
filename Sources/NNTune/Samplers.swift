import NNCore

/// How a round picks its trials.
public enum SamplerKind: String, Sendable, Codable, CaseIterable {
    /// Independent seeded draws: the course's advice, since each trial then tries a new value of
    /// every hyperparameter, and the important ones get many distinct values.
    case random
    /// Every combination of evenly spaced values (for comparison: with 5 points per axis, only 5
    /// distinct learning rates however many trials run).
    case grid
    /// Random start-up trials, then the tree-structured Parzen estimator (``TPESampler``): each new
    /// trial drawn where the best finished trials are dense.
    case tpe
    /// Random start-up trials, then Bayesian optimisation with a Gaussian process (``GPSampler``):
    /// each new trial where the expected improvement over the best trial is largest.
    case gp

    /// Whether trials are drawn one at a time from what has finished (``TPESampler``, ``GPSampler``)
    /// rather than planned a round at a time.
    public var isModelBased: Bool { self == .tpe || self == .gp }

    /// The random trials a model-based sampler draws before its model (as a study runs it): ASHA
    /// compares rungs with these (``AshaPruner/comparingWithStartup(of:)``).
    public static let startupTrials = 10
}

/// A finished trial as a model-based sampler sees it: its values and its objective.
public struct TrialObservation: Sendable, Equatable {
    /// Its hyperparameters.
    public var assignment: Assignment
    /// Its dev accuracy (higher is better); for a pruned trial, an estimate of its final one.
    public var objective: Double

    /// An observation.
    public init(assignment: Assignment, objective: Double) {
        self.assignment = assignment
        self.objective = objective
    }
}

/// Seeded random draws from a box.
///
/// Draw `p` of trial `t` in round `r` uses Philox (NNCore's counter-based generator) keyed by the
/// study seed at counter blocks starting from 64·(r·2³² + t), so a trial's values depend on nothing but (seed, round,
/// trial, space): a resumed study draws exactly what the interrupted one would have.
public struct RandomSampler: Sendable {
    /// Seeds every draw.
    public let seed: UInt64

    /// Independent draws seeded by `seed`.
    public init(seed: UInt64) {
        self.seed = seed
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    func uniform(round: Int, trial: Int, draw: Int) -> Double {
        let offset = UInt64(truncatingIfNeeded: round) << 32 | UInt64(truncatingIfNeeded: trial)
        // 64 counter blocks (256 words, 128 draws) per trial: far more than the 17 known hyperparameters.
        let hi = UInt64(Philox.word(seed: seed, offset: offset &* 64, index: 2 * draw))
        let lo = UInt64(Philox.word(seed: seed, offset: offset &* 64, index: 2 * draw + 1))
        return Double((hi << 32 | lo) >> 11) * 0x1p-53
    }

    /// Trial `trial` of round `round`, drawn from `box`.
    public func assignment(round: Int, trial: Int, box: SearchBox, space: SearchSpace) -> Assignment {
        var out: Assignment = [:]
        for (i, entry) in space.entries.enumerated() {
            let bounds = box.bounds(of: entry.name) ?? entry.distribution.fullBounds
            out[entry.name] = entry.distribution.sample(in: bounds, u: uniform(round: round, trial: trial, draw: i))
        }
        return out
    }

    /// `count` trials of a round, drawn from `box`.
    public func assignments(round: Int, count: Int, box: SearchBox, space: SearchSpace) -> [Assignment] {
        (0..<count).map { assignment(round: round, trial: $0, box: box, space: space) }
    }
}

extension RandomSampler {
    /// Trial `trial` of a round's start-up design: a Latin hypercube of `count` trials over `box`.
    ///
    /// Each hyperparameter's range is cut into `count` equal slices on its search scale (a choice's
    /// options are dealt out as evenly), and the first `count` trials take every slice exactly once,
    /// in an order shuffled per hyperparameter, at a random point within it. Still random, as the
    /// course advises, but a few trials cannot all miss the top decade of a learning rate or all take
    /// the same batch size, so a model-based sampler's first fit sees the whole range. Trials from
    /// `count` on are plain random draws. Deterministic for (seed, round, trial, count).
    public func stratifiedAssignment(round: Int, trial: Int, of count: Int, box: SearchBox, space: SearchSpace) -> Assignment {
        guard trial >= 0, trial < count else { return assignment(round: round, trial: trial, box: box, space: space) }
        var out: Assignment = [:]
        for (i, entry) in space.entries.enumerated() {
            // The round's shuffle of slices for this hyperparameter: the same for every trial of the round.
            var shuffle = SplitMix64(key: seed ^ 0x4C61_7469_6E48_7970, UInt64(truncatingIfNeeded: round) << 32 | UInt64(i))
            var slices = Array(0..<count)
            for j in stride(from: count - 1, to: 0, by: -1) {
                slices.swapAt(j, Int(shuffle.next() % UInt64(j + 1)))
            }
            let u = (Double(slices[trial]) + uniform(round: round, trial: trial, draw: i)) / Double(count)
            let bounds = box.bounds(of: entry.name) ?? entry.distribution.fullBounds
            out[entry.name] = entry.distribution.sample(in: bounds, u: min(u, 1.0.nextDown))
        }
        return out
    }
}

/// The Cartesian product of `points` evenly spaced values per hyperparameter (log-spaced for log
/// distributions; every remaining option of a choice), in the space's order with the most
/// important hyperparameter varying slowest.
public struct GridSampler: Sendable {
    /// Points per real-valued hyperparameter.
    public let points: Int

    /// A grid with `points` values per real-valued hyperparameter.
    public init(points: Int) {
        self.points = points
    }

    /// Every point of the grid over `box`.
    public func assignments(box: SearchBox, space: SearchSpace) -> [Assignment] {
        var grid: [Assignment] = [[:]]
        for entry in space.entries {
            let bounds = box.bounds(of: entry.name) ?? entry.distribution.fullBounds
            let values = entry.distribution.gridValues(in: bounds, points: points)
            grid = grid.flatMap { partial in
                values.map { v -> Assignment in
                    var next = partial
                    next[entry.name] = v
                    return next
                }
            }
        }
        return grid
    }

    /// How many trials a grid over `box` has, without building it (`Int.max` past that).
    public func count(box: SearchBox, space: SearchSpace) -> Int {
        space.entries.reduce(1) { n, entry in
            let bounds = box.bounds(of: entry.name) ?? entry.distribution.fullBounds
            let (product, overflow) = n.multipliedReportingOverflow(by: entry.distribution.gridValues(in: bounds, points: points).count)
            return overflow ? .max : product
        }
    }

    /// A grid larger than this is almost certainly a mistake (and would fill the database for nothing).
    public static let maximumSize = 100_000

    /// Throws unless the grid over `box` has at most ``maximumSize`` points.
    public func checkSize(box: SearchBox, space: SearchSpace) throws {
        let count = count(box: box, space: space)
        guard count <= Self.maximumSize else {
            let size = count == .max ? "more than \(Int.max)" : "\(count)"
            throw TuneError.invalidOption(
                name: "--grid-points",
                detail: "the grid has \(size) points (more than \(Self.maximumSize)); use fewer points or hyperparameters, or --sampler random")
        }
    }
}
