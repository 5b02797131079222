import NNCore
import NNNative

/// Storage of the wrapped backend: the native buffer inside, under the wrapper's own name, so that
/// the entry points' ownership check tells a wrapped tensor from a plain native one.
final class WrappedStorage: TensorStorage {
    let inner: any TensorStorage
    let backendName: String

    init(inner: any TensorStorage, backendName: String) {
        self.inner = inner
        self.backendName = backendName
    }
}

/// A toy backend as a package outside SwiftNN would write one: it implements only the
/// `unchecked…` hooks (here by unwrapping tensors and calling the native backend's hooks) and
/// relies on the entry points for validation. `breakGemm` makes it wrong on purpose, so tests can
/// see the conformance suite and `nn devices --check` fail.
final class WrappedNativeBackend: Backend, @unchecked Sendable {
    let name: String
    let inner: NativeBackend
    let breakGemm: Bool

    init(name: String = "wrapped-native", precision: Precision = .float32, breakGemm: Bool = false) {
        self.name = name
        inner = NativeBackend(precision: precision, threads: 2)
        self.breakGemm = breakGemm
    }

    var deviceDescription: String { "native wrapped as '\(name)': \(inner.deviceDescription)" }
    var precision: Precision { inner.precision }

    /// The native tensor behind one of ours. The entry points have checked the owner's name; the
    /// storage type is checked here, because a stranger could reuse our name.
    private func unwrap(_ t: Tensor) throws -> Tensor {
        guard let storage = t.storage as? WrappedStorage else {
            throw NNError.foreignTensor(op: name, expected: name, found: "\(type(of: t.storage))")
        }
        return Tensor(shape: t.shape, storage: storage.inner)
    }

    func uncheckedMakeTensor(_ shape: Shape) throws -> Tensor {
        let t = try inner.uncheckedMakeTensor(shape)
        return Tensor(shape: shape, storage: WrappedStorage(inner: t.storage, backendName: name))
    }
    func uncheckedUpload(_ values: [Float], to tensor: Tensor) throws { try inner.uncheckedUpload(values, to: unwrap(tensor)) }
    func uncheckedDownload(_ tensor: Tensor) throws -> [Float] { try inner.uncheckedDownload(unwrap(tensor)) }
    func uncheckedUpload(_ values: [Double], to tensor: Tensor) throws { try inner.uncheckedUpload(values, to: unwrap(tensor)) }
    func uncheckedDownloadDouble(_ tensor: Tensor) throws -> [Double] { try inner.uncheckedDownloadDouble(unwrap(tensor)) }
    func synchronize() throws { try inner.synchronize() }

    func uncheckedGemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor, alpha: Float, beta: Float) throws {
        // Broken on purpose: α is ignored, so every product with α ≠ 1 is wrong.
        try inner.uncheckedGemm(unwrap(a), transposeA: transposeA, unwrap(b), transposeB: transposeB, into: unwrap(c),
                                alpha: breakGemm ? 1 : alpha, beta: beta)
    }
    func uncheckedAddRowVector(_ bias: Tensor, to x: Tensor) throws { try inner.uncheckedAddRowVector(unwrap(bias), to: unwrap(x)) }
    func uncheckedColumnSums(_ x: Tensor, into out: Tensor, alpha: Float, beta: Float) throws {
        try inner.uncheckedColumnSums(unwrap(x), into: unwrap(out), alpha: alpha, beta: beta)
    }
    func uncheckedReduce(_ reduction: Reduction, _ x: Tensor, into out: Tensor, accumulate: Bool) throws {
        try inner.uncheckedReduce(reduction, unwrap(x), into: unwrap(out), accumulate: accumulate)
    }

    func uncheckedFill(_ x: Tensor, with value: Float) throws { try inner.uncheckedFill(unwrap(x), with: value) }
    func uncheckedCopy(_ from: Tensor, to: Tensor) throws { try inner.uncheckedCopy(unwrap(from), to: unwrap(to)) }
    func uncheckedScale(_ x: Tensor, by alpha: Float) throws { try inner.uncheckedScale(unwrap(x), by: alpha) }
    func uncheckedAxpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws { try inner.uncheckedAxpy(alpha: alpha, unwrap(x), unwrap(y)) }
    func uncheckedMultiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws {
        try inner.uncheckedMultiply(unwrap(a), unwrap(b), into: unwrap(out))
    }
    func uncheckedActivationForward(_ activation: Activation, _ x: Tensor, into y: Tensor) throws {
        try inner.uncheckedActivationForward(activation, unwrap(x), into: unwrap(y))
    }
    func uncheckedActivationBackward(_ activation: Activation, output y: Tensor, gradOutput dy: Tensor, into dx: Tensor) throws {
        try inner.uncheckedActivationBackward(activation, output: unwrap(y), gradOutput: unwrap(dy), into: unwrap(dx))
    }

    func uncheckedBatchNormForwardTraining(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                           averagingBeta: Float, epsilon: Float, output y: Tensor, savedMean: Tensor,
                                           savedInverseStd: Tensor) throws {
        try inner.uncheckedBatchNormForwardTraining(
            unwrap(x), gamma: unwrap(gamma), beta: unwrap(beta), runningMean: unwrap(runningMean),
            runningVariance: unwrap(runningVariance), averagingBeta: averagingBeta, epsilon: epsilon, output: unwrap(y),
            savedMean: unwrap(savedMean), savedInverseStd: unwrap(savedInverseStd))
    }
    func uncheckedBatchNormForwardInference(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                            epsilon: Float, output y: Tensor) throws {
        try inner.uncheckedBatchNormForwardInference(
            unwrap(x), gamma: unwrap(gamma), beta: unwrap(beta), runningMean: unwrap(runningMean),
            runningVariance: unwrap(runningVariance), epsilon: epsilon, output: unwrap(y))
    }
    func uncheckedBatchNormBackward(_ x: Tensor, gradOutput dy: Tensor, gamma: Tensor, savedMean: Tensor, savedInverseStd: Tensor,
                                    gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        try inner.uncheckedBatchNormBackward(
            unwrap(x), gradOutput: unwrap(dy), gamma: unwrap(gamma), savedMean: unwrap(savedMean),
            savedInverseStd: unwrap(savedInverseStd), gradInput: unwrap(dx), gradGamma: unwrap(gradGamma), gradBeta: unwrap(gradBeta))
    }

    func uncheckedSoftmax(_ x: Tensor, into y: Tensor) throws { try inner.uncheckedSoftmax(unwrap(x), into: unwrap(y)) }
    func uncheckedSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        try inner.uncheckedSoftmaxCrossEntropy(unwrap(logits), labels: unwrap(labels), gradient: unwrap(gradient), loss: unwrap(loss))
    }
    func uncheckedSigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        try inner.uncheckedSigmoidCrossEntropy(unwrap(logits), labels: unwrap(labels), gradient: unwrap(gradient), loss: unwrap(loss))
    }
    func uncheckedArgmaxRows(_ x: Tensor, into out: Tensor) throws { try inner.uncheckedArgmaxRows(unwrap(x), into: unwrap(out)) }

    func uncheckedDropoutForward(_ x: Tensor, keepProbability: Float, seed: UInt64, offset: UInt64, mask: Tensor, output y: Tensor) throws {
        try inner.uncheckedDropoutForward(unwrap(x), keepProbability: keepProbability, seed: seed, offset: offset,
                                          mask: unwrap(mask), output: unwrap(y))
    }

    func uncheckedUpdate(_ rule: UpdateRule, learningRate: Float, step: Int, penalty: WeightPenalty, parameter: Tensor, gradient: Tensor, state: [Tensor]) throws {
        try inner.uncheckedUpdate(rule, learningRate: learningRate, step: step, penalty: penalty, parameter: unwrap(parameter), gradient: unwrap(gradient),
                                  state: state.map(unwrap))
    }
}
