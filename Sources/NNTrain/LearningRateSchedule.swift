import Foundation
import NNCore

/// The learning rate as a function of the epoch (counted from 0, so the first epoch uses α₀) and,
/// for ``cosine``, of the run's length.
public enum LearningRateSchedule: Sendable, Codable, Equatable {
    /// α₀ throughout.
    case constant
    /// α₀ / (1 + decay·epoch), the course's learning-rate decay.
    case inverseTime(decay: Double)
    /// α₀ · rate^epoch.
    case exponential(rate: Double)
    /// The course's fixed-interval form: α₀ / (1 + decay·⌊epoch / interval⌋).
    case staircase(decay: Double, interval: Int)
    /// α₀ · factor^⌊epoch / interval⌋ (PyTorch's StepLR).
    case step(factor: Double, interval: Int)
    /// α₀ · k / √(epoch + 1) (the course's k/√t with t counted from 1).
    case inverseSqrt(k: Double)
    /// α₀ · ½(1 + cos(π·epoch/epochs)): cosine annealing (Loshchilov & Hutter, SGDR, without
    /// restarts) over the whole run. Unlike the decays above it is defined by the run's length, so
    /// the last epoch always trains with a small rate (α₀·0.024 for 10 epochs, less for longer runs)
    /// whatever `epochs` is; a fixed-rate decay tuned for 10 epochs would instead stall a
    /// 50-epoch run halfway. When a resumed run changes `epochs`, the curve stretches from there on.
    case cosine

    /// The learning rate for a 0-based `epoch` of a run of `epochs` epochs.
    ///
    /// - Parameters:
    ///   - initial: α₀, the rate the schedule starts from.
    ///   - epoch: the 0-based epoch about to run.
    ///   - epochs: the run's length, read by ``cosine`` only. Its last epoch, `epochs − 1`,
    ///     still trains (at α₀·½(1 − cos(π/epochs))); an epoch past the end, which a resumed run can
    ///     reach by lowering `epochs`, gets 0.
    public func learningRate(initial: Float, epoch: Int, epochs: Int) -> Float {
        let a0 = Double(initial), e = Double(max(epoch, 0))
        let rate: Double
        switch self {
        case .constant: rate = a0
        case let .inverseTime(decay): rate = a0 / (1 + decay * e)
        case let .exponential(r): rate = a0 * pow(r, e)
        case let .staircase(decay, interval): rate = a0 / (1 + decay * (e / Double(interval)).rounded(.down))
        case let .step(factor, interval): rate = a0 * pow(factor, (e / Double(interval)).rounded(.down))
        case let .inverseSqrt(k): rate = a0 * k / (e + 1).squareRoot()
        case .cosine:
            let progress = epochs > 0 ? min(e / Double(epochs), 1) : 0
            rate = a0 * 0.5 * (1 + cos(Double.pi * progress))
        }
        return Float(rate)
    }

    /// Checks the schedule's parameters (positive decay, rates in (0, 1], intervals ≥ 1).
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` for a negative decay, a rate or factor
    ///   outside (0, 1], an interval below 1, or k ≤ 0.
    public func validate() throws {
        let op = "learning-rate schedule"
        switch self {
        case .constant, .cosine: break
        case let .inverseTime(decay), let .staircase(decay, _):
            guard decay >= 0, decay.isFinite else {
                throw NNError.invalidArgument(op: op, detail: "decay \(decay) must be a finite number ≥ 0")
            }
        case let .exponential(rate), let .step(rate, _):
            guard rate > 0, rate <= 1 else {
                throw NNError.invalidArgument(op: op, detail: "decay factor \(rate) must lie in (0, 1]")
            }
        case let .inverseSqrt(k):
            guard k > 0, k.isFinite else {
                throw NNError.invalidArgument(op: op, detail: "k = \(k) must be a positive number")
            }
        }
        switch self {
        case let .staircase(_, interval), let .step(_, interval):
            guard interval >= 1 else {
                throw NNError.invalidArgument(op: op, detail: "interval \(interval) must be at least 1 epoch")
            }
        default: break
        }
    }
}
