import Foundation

/// The course's bias/variance reading of final train and dev errors.
///
/// Avoidable bias = train error − achievable (Bayes) error; variance = dev error − train error. Each
/// is "high" when it exceeds `tolerance` (absolute, as a fraction). The advice follows the course's
/// basic recipe: fix bias first (bigger network, train longer), then variance (more data, regularisation).
public struct Diagnosis: Sendable, Codable, Equatable, CustomStringConvertible {
    public enum Finding: String, Sendable, Codable {
        case highBias
        case highVariance
        case highBiasAndVariance
        case balanced
    }

    public var finding: Finding
    public var trainError: Double
    public var devError: Double
    public var bayesError: Double
    public var tolerance: Double

    public init(trainError: Double, devError: Double, bayesError: Double = 0, tolerance: Double = 0.02) {
        self.trainError = trainError
        self.devError = devError
        self.bayesError = bayesError
        self.tolerance = tolerance
        let highBias = trainError - bayesError > tolerance
        let highVariance = devError - trainError > tolerance
        switch (highBias, highVariance) {
        case (true, true): finding = .highBiasAndVariance
        case (true, false): finding = .highBias
        case (false, true): finding = .highVariance
        case (false, false): finding = .balanced
        }
    }

    public var description: String {
        let train = Self.percent(trainError), dev = Self.percent(devError)
        let target = bayesError > 0 ? " (achievable ≈ \(Self.percent(bayesError)))" : ""
        switch finding {
        case .highVariance:
            return "high variance: dev error \(dev) vs train \(train); try more data or regularisation (L2, dropout, early stopping)"
        case .highBias:
            return "high bias: train error \(train)\(target), dev \(dev); try a bigger network or train longer"
        case .highBiasAndVariance:
            return "high bias and high variance: train error \(train)\(target), dev \(dev); first a bigger network or longer training, then more data or regularisation"
        case .balanced:
            return "low bias and low variance: train error \(train), dev \(dev)"
        }
    }

    static func percent(_ x: Double) -> String {
        String(format: "%.1f %%", x * 100)
    }
}
