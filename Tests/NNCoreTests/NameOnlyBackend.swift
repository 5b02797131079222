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

    func makeTensor(_ shape: Shape) throws -> Tensor { Tensor(shape: shape, storage: DummyStorage(backendName: name)) }
    func upload(_ values: [Float], to tensor: Tensor) throws { throw refuse("upload") }
    func download(_ tensor: Tensor) throws -> [Float] { throw refuse("download") }
    func upload(_ values: [Double], to tensor: Tensor) throws { throw refuse("upload") }
    func downloadDouble(_ tensor: Tensor) throws -> [Double] { throw refuse("downloadDouble") }
    func synchronize() throws {}
    func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor, alpha: Float, beta: Float) throws {
        throw refuse("gemm")
    }
    func addRowVector(_ bias: Tensor, to x: Tensor) throws { throw refuse("addRowVector") }
    func columnSums(_ x: Tensor, into out: Tensor, alpha: Float, beta: Float) throws { throw refuse("columnSums") }
    func reduce(_ reduction: Reduction, _ x: Tensor, into out: Tensor, accumulate: Bool) throws { throw refuse("reduce") }
    func fill(_ x: Tensor, with value: Float) throws { throw refuse("fill") }
    func copy(_ from: Tensor, to: Tensor) throws { throw refuse("copy") }
    func scale(_ x: Tensor, by alpha: Float) throws { throw refuse("scale") }
    func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws { throw refuse("axpy") }
    func multiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws { throw refuse("multiply") }
    func activationForward(_ activation: Activation, _ x: Tensor, into y: Tensor) throws { throw refuse("activationForward") }
    func activationBackward(_ activation: Activation, output y: Tensor, gradOutput dy: Tensor, into dx: Tensor) throws {
        throw refuse("activationBackward")
    }
    func batchNormForwardTraining(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                  averagingBeta: Float, epsilon: Float, output y: Tensor, savedMean: Tensor,
                                  savedInverseStd: Tensor) throws {
        throw refuse("batchNormForwardTraining")
    }
    func batchNormForwardInference(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                   epsilon: Float, output y: Tensor) throws {
        throw refuse("batchNormForwardInference")
    }
    func batchNormBackward(_ x: Tensor, gradOutput dy: Tensor, gamma: Tensor, savedMean: Tensor, savedInverseStd: Tensor,
                           gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        throw refuse("batchNormBackward")
    }
    func softmax(_ x: Tensor, into y: Tensor) throws { throw refuse("softmax") }
    func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        throw refuse("softmaxCrossEntropy")
    }
    func sigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        throw refuse("sigmoidCrossEntropy")
    }
    func argmaxRows(_ x: Tensor, into out: Tensor) throws { throw refuse("argmaxRows") }
    func dropoutForward(_ x: Tensor, keepProbability: Float, seed: UInt64, offset: UInt64, mask: Tensor, output y: Tensor) throws {
        throw refuse("dropoutForward")
    }
    func update(_ rule: UpdateRule, penalty: WeightPenalty, parameter: Tensor, gradient: Tensor, state: [Tensor]) throws {
        throw refuse("update")
    }
}
