import NNCore

/// Forwards every op to a real backend, with a hook after `activationBackward` so tests can inject
/// a wrong gradient and see the gradient check catch it.
final class DelegatingBackend: Backend, @unchecked Sendable {
    let inner: any Backend
    let afterActivationBackward: (Tensor, any Backend) throws -> Void

    init(_ inner: any Backend, afterActivationBackward: @escaping (Tensor, any Backend) throws -> Void) {
        self.inner = inner
        self.afterActivationBackward = afterActivationBackward
    }

    var name: String { inner.name }
    var deviceDescription: String { inner.deviceDescription }
    var precision: Precision { inner.precision }
    func uncheckedMakeTensor(_ shape: Shape) throws -> Tensor { try inner.makeTensor(shape) }
    func uncheckedUpload(_ values: [Float], to tensor: Tensor) throws { try inner.upload(values, to: tensor) }
    func uncheckedDownload(_ tensor: Tensor) throws -> [Float] { try inner.download(tensor) }
    func uncheckedUpload(_ values: [Double], to tensor: Tensor) throws { try inner.upload(values, to: tensor) }
    func uncheckedDownloadDouble(_ tensor: Tensor) throws -> [Double] { try inner.downloadDouble(tensor) }
    func synchronize() throws { try inner.synchronize() }
    func uncheckedGemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor, alpha: Float, beta: Float) throws {
        try inner.gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: alpha, beta: beta)
    }
    func uncheckedAddRowVector(_ bias: Tensor, to x: Tensor) throws { try inner.addRowVector(bias, to: x) }
    func uncheckedColumnSums(_ x: Tensor, into out: Tensor, alpha: Float, beta: Float) throws {
        try inner.columnSums(x, into: out, alpha: alpha, beta: beta)
    }
    func uncheckedReduce(_ reduction: Reduction, _ x: Tensor, into out: Tensor, accumulate: Bool) throws {
        try inner.reduce(reduction, x, into: out, accumulate: accumulate)
    }
    func uncheckedFill(_ x: Tensor, with value: Float) throws { try inner.fill(x, with: value) }
    func uncheckedCopy(_ from: Tensor, to: Tensor) throws { try inner.copy(from, to: to) }
    func uncheckedScale(_ x: Tensor, by alpha: Float) throws { try inner.scale(x, by: alpha) }
    func uncheckedAxpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws { try inner.axpy(alpha: alpha, x, y) }
    func uncheckedMultiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws { try inner.multiply(a, b, into: out) }
    func uncheckedActivationForward(_ activation: Activation, _ x: Tensor, into y: Tensor) throws {
        try inner.activationForward(activation, x, into: y)
    }
    func uncheckedActivationBackward(_ activation: Activation, output y: Tensor, gradOutput dy: Tensor, into dx: Tensor) throws {
        try inner.activationBackward(activation, output: y, gradOutput: dy, into: dx)
        try afterActivationBackward(dx, inner)
    }
    func uncheckedBatchNormForwardTraining(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                           averagingBeta: Float, epsilon: Float, output y: Tensor, savedMean: Tensor,
                                           savedInverseStd: Tensor) throws {
        try inner.batchNormForwardTraining(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVariance: runningVariance,
                                           averagingBeta: averagingBeta, epsilon: epsilon, output: y, savedMean: savedMean,
                                           savedInverseStd: savedInverseStd)
    }
    func uncheckedBatchNormForwardInference(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                            epsilon: Float, output y: Tensor) throws {
        try inner.batchNormForwardInference(x, gamma: gamma, beta: beta, runningMean: runningMean,
                                            runningVariance: runningVariance, epsilon: epsilon, output: y)
    }
    func uncheckedBatchNormBackward(_ x: Tensor, gradOutput dy: Tensor, gamma: Tensor, savedMean: Tensor, savedInverseStd: Tensor,
                                    gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        try inner.batchNormBackward(x, gradOutput: dy, gamma: gamma, savedMean: savedMean, savedInverseStd: savedInverseStd,
                                    gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta)
    }
    func uncheckedSoftmax(_ x: Tensor, into y: Tensor) throws { try inner.softmax(x, into: y) }
    func uncheckedSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        try inner.softmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss)
    }
    func uncheckedSigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        try inner.sigmoidCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss)
    }
    func uncheckedArgmaxRows(_ x: Tensor, into out: Tensor) throws { try inner.argmaxRows(x, into: out) }
    func uncheckedDropoutForward(_ x: Tensor, keepProbability: Float, seed: UInt64, offset: UInt64, mask: Tensor, output y: Tensor) throws {
        try inner.dropoutForward(x, keepProbability: keepProbability, seed: seed, offset: offset, mask: mask, output: y)
    }
    func uncheckedUpdate(_ rule: UpdateRule, learningRate: Float, step: Int, penalty: WeightPenalty, parameter: Tensor, gradient: Tensor, state: [Tensor]) throws {
        try inner.update(rule, learningRate: learningRate, step: step, penalty: penalty, parameter: parameter, gradient: gradient, state: state)
    }
}
