import Dispatch
import NNCore

/// Monotonic wall-clock seconds. `DispatchTime` reads CLOCK_MONOTONIC on Linux, so it is
/// immune to NTP steps and cheap enough (tens of ns) to sit around multi-millisecond runs.
enum Stopwatch {
    static func seconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
    }

    /// Wall time of `body` in seconds.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = seconds()
        try body()
        return seconds() - start
    }
}

/// How every figure in nnbench is taken.
///
/// A figure is the median of `runs` timed runs (with min and max beside it) after `warmup` untimed
/// runs. A run repeats the kernel `repetitions` times and then synchronises the device *inside* the
/// timed region, so asynchronous backends pay for all the work they queued. The repetition count
/// is calibrated once so that one run lasts at least `minimumRunSeconds`: a 256×256×10 GEMM takes
/// microseconds, and timing it alone would measure the clock and the launch, not the kernel.
struct MeasurementPolicy: Sendable {
    var runs: Int
    var warmup: Int
    var minimumRunSeconds: Double

    static let minimumRuns = 5

    func validated() throws -> MeasurementPolicy {
        guard runs >= Self.minimumRuns else {
            throw NNError.invalidArgument(
                op: "nnbench", detail: "--runs \(runs) is too few for a median and a spread; use at least \(Self.minimumRuns)")
        }
        guard warmup >= 0 else {
            throw NNError.invalidArgument(op: "nnbench", detail: "--warmup \(warmup) must be 0 or more")
        }
        guard minimumRunSeconds > 0, minimumRunSeconds.isFinite else {
            throw NNError.invalidArgument(op: "nnbench", detail: "--min-time \(minimumRunSeconds) must be a positive number of seconds")
        }
        return self
    }
}

/// A rate measured over several runs: median and range, in the unit of its row (GFLOP/s, GB/s, samples/s).
struct Figure: Codable, Sendable {
    var median: Double
    var min: Double
    var max: Double
    /// Every run's rate, in the order taken.
    var runs: [Double]
    /// Kernel calls per timed run.
    var repetitions: Int
    /// median / the measured ceiling of the same kind (FMA peak or triad bandwidth), when one applies.
    var fractionOfCeiling: Double?

    init(rates: [Double], repetitions: Int) {
        let sorted = rates.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        runs = rates
        self.repetitions = repetitions
        fractionOfCeiling = nil
    }
}

/// Runs a kernel under a ``MeasurementPolicy``.
struct Runner {
    let policy: MeasurementPolicy

    /// Measures `kernel` (which issues one unit of work, possibly asynchronously) followed by
    /// `synchronize`, and returns the rate in `work` units per second divided by `scale`.
    ///
    /// The first call is untimed: it pays for lazy kernel compilation (PoCL builds a kernel on its
    /// first launch per work-group size) and first-touch page faults.
    func measure(work: Double, scale: Double,
                 kernel: () throws -> Void, synchronize: () throws -> Void) throws -> Figure {
        try kernel()
        try synchronize()

        // Calibrate: grow the repetition count until one run lasts at least the minimum.
        var repetitions = 1
        while true {
            let elapsed = try Stopwatch.time {
                for _ in 0..<repetitions { try kernel() }
                try synchronize()
            }
            if elapsed >= policy.minimumRunSeconds { break }
            let needed = policy.minimumRunSeconds / Swift.max(elapsed, 1e-7)
            repetitions = Swift.max(repetitions * 2, Int((Double(repetitions) * needed * 1.2).rounded(.up)))
            if repetitions > 1 << 24 { break }
        }

        for _ in 0..<policy.warmup {
            for _ in 0..<repetitions { try kernel() }
            try synchronize()
        }

        var rates: [Double] = []
        rates.reserveCapacity(policy.runs)
        for _ in 0..<policy.runs {
            let elapsed = try Stopwatch.time {
                for _ in 0..<repetitions { try kernel() }
                try synchronize()
            }
            rates.append(work * Double(repetitions) / elapsed / scale)
        }
        return Figure(rates: rates, repetitions: repetitions)
    }
}
