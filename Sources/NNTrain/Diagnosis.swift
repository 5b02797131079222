import Foundation

/// The course's bias/variance reading of final train and dev errors.
///
/// Avoidable bias = train error − achievable (Bayes) error; variance = dev error − train error. Each
/// is "high" when it exceeds `tolerance` (absolute, as a fraction). When both are high but one is at
/// least twice the other, the larger one is the finding: the course's advice is to work on the bigger
/// gap first, and calling a 2.6 % train error "high bias" beside a 7-point variance gap would send a
/// user after a bigger network when regularisation is what helps. The advice follows the course's
/// basic recipe: fix bias first (bigger network, train longer), then variance (more data,
/// regularisation). The description says how it judged, and that the Bayes error was assumed to be 0
/// when it was not given.
public struct Diagnosis: Sendable, Codable, Equatable, CustomStringConvertible {
    /// What the train and dev errors say to work on next.
    public enum Finding: String, Sendable, Codable {
        /// Train error well above the Bayes error: a bigger network or longer training helps.
        case highBias
        /// Dev error well above the train error: more data or regularisation helps.
        case highVariance
        /// Both gaps are large and neither dominates: fix bias first.
        case highBiasAndVariance
        /// Both gaps are within the tolerance.
        case balanced
    }

    /// The reading.
    public var finding: Finding
    /// Final training-set error (1 − accuracy), in evaluation mode.
    public var trainError: Double
    /// Final dev-set error.
    public var devError: Double
    /// The achievable error assumed (e.g. human level); 0 when not given.
    public var bayesError: Double
    /// Gap, as a fraction, above which bias or variance counts as high.
    public var tolerance: Double

    /// How many times larger one gap must be than the other to be the finding on its own.
    public static let dominanceRatio = 2.0

    /// Reads the errors; the finding is computed here.
    public init(trainError: Double, devError: Double, bayesError: Double = 0, tolerance: Double = 0.02) {
        self.trainError = trainError
        self.devError = devError
        self.bayesError = bayesError
        self.tolerance = tolerance
        let bias = trainError - bayesError, variance = devError - trainError
        switch (bias > tolerance, variance > tolerance) {
        case (true, true):
            if bias >= Self.dominanceRatio * variance {
                finding = .highBias
            } else if variance >= Self.dominanceRatio * bias {
                finding = .highVariance
            } else {
                finding = .highBiasAndVariance
            }
        case (true, false): finding = .highBias
        case (false, true): finding = .highVariance
        case (false, false): finding = .balanced
        }
    }

    /// Train error − Bayes error (may be negative when the Bayes error was set too high).
    public var avoidableBias: Double { trainError - bayesError }
    /// Dev error − train error.
    public var variance: Double { devError - trainError }

    /// The finding with its numbers and the advice that follows from it.
    public var description: String {
        let train = Self.percent(trainError), dev = Self.percent(devError)
        let advice: String
        switch finding {
        case .highVariance:
            advice = "high variance: dev error \(dev) vs train \(train); try more data or regularisation (L2, dropout, early stopping)"
        case .highBias:
            advice = "high bias: train error \(train), dev \(dev); try a bigger network or train longer"
        case .highBiasAndVariance:
            advice = "high bias and high variance: train error \(train), dev \(dev); first a bigger network or longer training, then more data or regularisation"
        case .balanced:
            advice = "low bias and low variance: train error \(train), dev \(dev)"
        }
        return advice + " (" + judgement + ")"
    }

    /// The figures the finding rests on, and where the Bayes error came from.
    public var judgement: String {
        let bayes = bayesError > 0
            ? "Bayes error \(Self.percent(bayesError))"
            : "Bayes error assumed 0 %; give your data's achievable error with --bayes-error"
        return "avoidable bias \(Self.points(avoidableBias)), variance \(Self.points(variance)), "
            + "each high above \(Self.points(tolerance)); \(bayes)"
    }

    static func percent(_ x: Double) -> String {
        String(format: "%.1f %%", x * 100)
    }

    static func points(_ x: Double) -> String {
        String(format: "%.1f pp", x * 100)
    }
}
