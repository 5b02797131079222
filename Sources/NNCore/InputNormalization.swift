/// How the inputs are standardised before the first layer.
///
/// The course standardises each feature with its own μ and σ, which is right for tabular data whose
/// columns come in different units. For images it is not: a border pixel that is lit in a handful of
/// training images gets a σ near zero, so the same pixel lit in a test image is scaled by hundreds
/// and swamps the first layer. Image pipelines (torchvision's `Normalize`) therefore use one μ and σ
/// per channel, which for grayscale is one pair for all pixels. Measured with `nn train`'s default
/// recipe: MNIST test accuracy 98.03 % per feature against 98.43 % global (seed 1).
public enum InputNormalization: String, Sendable, Codable, CaseIterable {
    /// Each feature (x_j − μ_j)/σ_j: the course's normalisation, for features in different units.
    case perFeature = "per-feature"
    /// Every feature (x_j − μ)/σ with μ, σ over all values: for features in one unit (pixels).
    case global
    /// Inputs as given.
    case none
}
