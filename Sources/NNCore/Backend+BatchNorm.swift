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
    /// Must allow dx to alias dy (the composed ``uncheckedBatchNormReLUBackward(_:output:gradOutput:gamma:savedMean:savedInverseStd:gradInput:gradGamma:gradBeta:)``
    /// runs it in place): read every dy before writing the dx of the same element.
    func uncheckedBatchNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws

    /// The training forward with max(0, ·) applied to y as it is stored, on operands validated by
    /// ``OpCheck/batchNormForwardTraining(_:gamma:beta:runningMean:runningVariance:averagingBeta:epsilon:output:savedMean:savedInverseStd:on:)``.
    /// The default implementation runs ``uncheckedBatchNormForwardTraining(_:gamma:beta:runningMean:runningVariance:averagingBeta:epsilon:output:savedMean:savedInverseStd:)``
    /// and then the ReLU in place; a backend overrides it to save that second pass over memory.
    func uncheckedBatchNormReLUForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output z: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws
    /// The inference forward with max(0, ·) applied as y is stored; default: the op, then the ReLU in place.
    func uncheckedBatchNormReLUForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output z: Tensor) throws
    /// The backward of batch norm followed by a ReLU whose output was z: dy = dz where z > 0, else 0,
    /// then the batch-norm backward of dy, on operands validated by
    /// ``OpCheck/batchNormReLUBackward(_:output:gradOutput:gamma:savedMean:savedInverseStd:gradInput:gradGamma:gradBeta:on:)``.
    /// The default implementation writes the masked gradient into dx and runs
    /// ``uncheckedBatchNormBackward(_:gradOutput:gamma:savedMean:savedInverseStd:gradInput:gradGamma:gradBeta:)``
    /// in place there; a backend overrides it to mask as it reads dz instead.
    func uncheckedBatchNormReLUBackward(
        _ x: Tensor, output z: Tensor, gradOutput dz: Tensor, gamma: Tensor,
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
    /// dx = (γ/σ)·(dy − dβ/m − x̂·dγ/m). dγ and dβ are overwritten; dx may alias dy.
    public func batchNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        try OpCheck.batchNormBackward(x, gradOutput: dy, gamma: gamma, savedMean: savedMean, savedInverseStd: savedInverseStd,
                                      gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta, on: self)
        try uncheckedBatchNormBackward(x, gradOutput: dy, gamma: gamma, savedMean: savedMean, savedInverseStd: savedInverseStd,
                                       gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta)
    }

    // MARK: Batch norm followed by ReLU

    /// ``batchNormForwardTraining(_:gamma:beta:runningMean:runningVariance:averagingBeta:epsilon:output:savedMean:savedInverseStd:)``,
    /// then z = max(0, y) in place when `relu`: the `batchnorm → relu` pair of a network in one op, which
    /// a backend may run without writing y and reading it back (the OpenCL and native backends apply
    /// the ReLU as they store y). The saved and running statistics are those of y, unchanged by the ReLU.
    public func batchNormForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output z: Tensor, savedMean: Tensor, savedInverseStd: Tensor, relu: Bool) throws {
        guard relu else {
            return try batchNormForwardTraining(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                                runningVariance: runningVariance, averagingBeta: averagingBeta,
                                                epsilon: epsilon, output: z, savedMean: savedMean, savedInverseStd: savedInverseStd)
        }
        try OpCheck.batchNormForwardTraining(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                             runningVariance: runningVariance, averagingBeta: averagingBeta,
                                             epsilon: epsilon, output: z, savedMean: savedMean,
                                             savedInverseStd: savedInverseStd, on: self)
        try uncheckedBatchNormReLUForwardTraining(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                                  runningVariance: runningVariance, averagingBeta: averagingBeta,
                                                  epsilon: epsilon, output: z, savedMean: savedMean,
                                                  savedInverseStd: savedInverseStd)
    }

    /// ``batchNormForwardInference(_:gamma:beta:runningMean:runningVariance:epsilon:output:)``, then
    /// z = max(0, y) in place when `relu`, in one pass where the backend fuses them.
    public func batchNormForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output z: Tensor, relu: Bool) throws {
        guard relu else {
            return try batchNormForwardInference(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                                 runningVariance: runningVariance, epsilon: epsilon, output: z)
        }
        try OpCheck.batchNormForwardInference(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                              runningVariance: runningVariance, epsilon: epsilon, output: z, on: self)
        try uncheckedBatchNormReLUForwardInference(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                                   runningVariance: runningVariance, epsilon: epsilon, output: z)
    }

    /// The backward of a fused forward (`relu: true`), from its output z = max(0, y) and dL/dz:
    /// dy = dz where z > 0 and 0 elsewhere (a pre-activation of exactly 0 passes no gradient, as
    /// ``activationBackward(_:output:gradOutput:into:)`` does), then
    /// ``batchNormBackward(_:gradOutput:gamma:savedMean:savedInverseStd:gradInput:gradGamma:gradBeta:)``
    /// of dy. A fusing backend masks dz as it reads it, so dy is never written. dγ and dβ are
    /// overwritten; dx may alias dz but not x or z.
    public func batchNormBackward(
        _ x: Tensor, reluOutput z: Tensor, gradOutput dz: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        try OpCheck.batchNormReLUBackward(x, output: z, gradOutput: dz, gamma: gamma, savedMean: savedMean,
                                          savedInverseStd: savedInverseStd, gradInput: dx, gradGamma: gradGamma,
                                          gradBeta: gradBeta, on: self)
        try uncheckedBatchNormReLUBackward(x, output: z, gradOutput: dz, gamma: gamma, savedMean: savedMean,
                                           savedInverseStd: savedInverseStd, gradInput: dx, gradGamma: gradGamma,
                                           gradBeta: gradBeta)
    }

    /// The composed fused forward: the training op, then the ReLU in place, each its own pass.
    public func uncheckedBatchNormReLUForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output z: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws {
        try uncheckedBatchNormForwardTraining(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                              runningVariance: runningVariance, averagingBeta: averagingBeta,
                                              epsilon: epsilon, output: z, savedMean: savedMean,
                                              savedInverseStd: savedInverseStd)
        try uncheckedActivationForward(.relu, z, into: z)
    }

    /// The composed fused inference forward: the op, then the ReLU in place.
    public func uncheckedBatchNormReLUForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output z: Tensor) throws {
        try uncheckedBatchNormForwardInference(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                               runningVariance: runningVariance, epsilon: epsilon, output: z)
        try uncheckedActivationForward(.relu, z, into: z)
    }

    /// The composed fused backward: the ReLU's backward into dx (the only m×n tensor the op may
    /// write: it allocates nothing), then the batch-norm backward in place on dx.
    public func uncheckedBatchNormReLUBackward(
        _ x: Tensor, output z: Tensor, gradOutput dz: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        try uncheckedActivationBackward(.relu, output: z, gradOutput: dz, into: dx)
        try uncheckedBatchNormBackward(x, gradOutput: dx, gamma: gamma, savedMean: savedMean,
                                       savedInverseStd: savedInverseStd, gradInput: dx, gradGamma: gradGamma,
                                       gradBeta: gradBeta)
    }
}
