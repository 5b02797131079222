import NNCore

/// Storage that only carries an owner name: OpCheck never looks inside storage.
final class DummyStorage: TensorStorage {
    let backendName: String
    init(backendName: String) { self.backendName = backendName }
}

/// A backend that exists to give `OpCheck` an owner name to compare against. NNCore's tests cannot
/// depend on a real backend module, and OpCheck reads nothing but `name`, so every op here refuses.
final class NameOnlyBackend: Backend {
    let name: String
    var deviceDescription: String { "validation-only test double" }
    var precision: Precision { .float32 }

    init(name: String) { self.name = name }

    func tensor(_ rows: Int, _ columns: Int, owner: String? = nil) -> Tensor {
        Tensor(shape: Shape(rows, columns), storage: DummyStorage(backendName: owner ?? name))
    }

    private func refuse(_ op: String) -> NNError {
        .backendUnavailable(backend: name, reason: "\(op) is not implemented by the validation-only test double")
    }

    func uncheckedMakeTensor(_ shape: Shape) throws -> Tensor { Tensor(shape: shape, storage: DummyStorage(backendName: name)) }
    func uncheckedUpload(_ values: [Float], to tensor: Tensor) throws { throw refuse("upload") }
    func uncheckedDownload(_ tensor: Tensor) throws -> [Float] { throw refuse("download") }
    func uncheckedUpload(_ values: [Double], to tensor: Tensor) throws { throw refuse("upload") }
    func uncheckedDownloadDouble(_ tensor: Tensor) throws -> [Double] { throw refuse("downloadDouble") }
    func synchronize() throws {}
    func uncheckedGemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor, alpha: Float, beta: Float) throws {
        throw refuse("gemm")
    }
    func uncheckedAddRowVector(_ bias: Tensor, to x: Tensor) throws { throw refuse("addRowVector") }
    func uncheckedColumnSums(_ x: Tensor, into out: Tensor, alpha: Float, beta: Float) throws { throw refuse("columnSums") }
    func uncheckedReduce(_ reduction: Reduction, _ x: Tensor, into out: Tensor, accumulate: Bool) throws { throw refuse("reduce") }
    func uncheckedFill(_ x: Tensor, with value: Float) throws { throw refuse("fill") }
    func uncheckedCopy(_ from: Tensor, to: Tensor) throws { throw refuse("copy") }
    func uncheckedScale(_ x: Tensor, by alpha: Float) throws { throw refuse("scale") }
    func uncheckedAxpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws { throw refuse("axpy") }
    func uncheckedMultiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws { throw refuse("multiply") }
    func uncheckedActivationForward(_ activation: Activation, _ x: Tensor, into y: Tensor) throws { throw refuse("activationForward") }
    func uncheckedActivationBackward(_ activation: Activation, output y: Tensor, gradOutput dy: Tensor, into dx: Tensor) throws {
        throw refuse("activationBackward")
    }
    func uncheckedBatchNormForwardTraining(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                           averagingBeta: Float, epsilon: Float, output y: Tensor, savedMean: Tensor,
                                           savedInverseStd: Tensor) throws {
        throw refuse("batchNormForwardTraining")
    }
    func uncheckedBatchNormForwardInference(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                            epsilon: Float, output y: Tensor) throws {
        throw refuse("batchNormForwardInference")
    }
    func uncheckedBatchNormBackward(_ x: Tensor, gradOutput dy: Tensor, gamma: Tensor, savedMean: Tensor, savedInverseStd: Tensor,
                                    gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        throw refuse("batchNormBackward")
    }
    func uncheckedSoftmax(_ x: Tensor, into y: Tensor) throws { throw refuse("softmax") }
    func uncheckedSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        throw refuse("softmaxCrossEntropy")
    }
    func uncheckedSigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        throw refuse("sigmoidCrossEntropy")
    }
    func uncheckedArgmaxRows(_ x: Tensor, into out: Tensor) throws { throw refuse("argmaxRows") }
    func uncheckedDropoutForward(_ x: Tensor, keepProbability: Float, seed: UInt64, offset: UInt64, mask: Tensor, output y: Tensor) throws {
        throw refuse("dropoutForward")
    }
    func uncheckedUpdate(_ rule: UpdateRule, learningRate: Float, step: Int, penalty: WeightPenalty, parameter: Tensor, gradient: Tensor, state: [Tensor]) throws {
        throw refuse("update")
    }
}
