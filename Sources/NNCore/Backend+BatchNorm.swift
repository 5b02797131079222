/// Batch normalisation, per feature (= per column).
///
/// Implement the `unchecked…` hooks; call ``Backend/batchNormForwardTraining(_:gamma:beta:runningMean:runningVariance:averagingBeta:epsilon:output:savedMean:savedInverseStd:)``, … instead.
public protocol BatchNormOps: AnyObject, Sendable {
    func uncheckedBatchNormForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output y: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws
    func uncheckedBatchNormForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output y: Tensor) throws
    func uncheckedBatchNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws
}

extension Backend {
    /// Training mode: per column, the batch mean μ and biased variance σ² (two-pass, so batches of
    /// 10⁵ rows stay accurate); y = γ·(x − μ)/√(σ² + ε) + β. Saves μ and 1/√(σ² + ε) for backward,
    /// and updates the running statistics with the course's exponentially weighted average
    /// r ← β·r + (1 − β)·θ using the *unbiased* variance σ²·m/(m − 1) (σ² itself when m = 1), as
    /// PyTorch's BatchNorm1d does. Note `averagingBeta` = 1 − PyTorch's `momentum` (0.9 ↔ 0.1).
    public func batchNormForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output y: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws {
        try OpCheck.batchNormForwardTraining(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                             runningVariance: runningVariance, averagingBeta: averagingBeta,
                                             epsilon: epsilon, output: y, savedMean: savedMean,
                                             savedInverseStd: savedInverseStd, on: self)
        try uncheckedBatchNormForwardTraining(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                              runningVariance: runningVariance, averagingBeta: averagingBeta,
                                              epsilon: epsilon, output: y, savedMean: savedMean,
                                              savedInverseStd: savedInverseStd)
    }

    /// Evaluation mode: y = γ·(x − r_μ)/√(r_σ² + ε) + β, each row independent of the others.
    public func batchNormForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output y: Tensor) throws {
        try OpCheck.batchNormForwardInference(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                              runningVariance: runningVariance, epsilon: epsilon, output: y, on: self)
        try uncheckedBatchNormForwardInference(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                               runningVariance: runningVariance, epsilon: epsilon, output: y)
    }

    /// From saved μ and 1/σ: dβ = Σ dy, dγ = Σ dy·x̂, and
    /// dx = (γ/σ)·(dy − dβ/m − x̂·dγ/m). dγ and dβ are overwritten.
    public func batchNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        try OpCheck.batchNormBackward(x, gradOutput: dy, gamma: gamma, savedMean: savedMean, savedInverseStd: savedInverseStd,
                                      gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta, on: self)
        try uncheckedBatchNormBackward(x, gradOutput: dy, gamma: gamma, savedMean: savedMean, savedInverseStd: savedInverseStd,
                                       gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta)
    }
}
