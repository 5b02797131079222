import NNCore
import NNDistributed

/// Per-feature batch normalisation with learnable γ ("weight") and β ("bias"), PyTorch `BatchNorm1d`
/// numerics. `averagingBeta` is the course's β for the running averages (r ← β·r + (1 − β)·θ), i.e.
/// 1 − PyTorch's `momentum`: 0.9 ↔ 0.1.
public struct BatchNormDefinition: LayerDefinition {
    public static let kind = "batchNorm"
    public var epsilon: Float
    public var averagingBeta: Float

    public init(epsilon: Float = 1e-5, averagingBeta: Float = 0.9) {
        self.epsilon = epsilon
        self.averagingBeta = averagingBeta
    }

    public var displayName: String { "batchnorm" }
    public var cancelsPrecedingBias: Bool { true }
    public var usesBatchStatistics: Bool { true }

    public func outputWidth(inputWidth: Int) throws -> Int {
        guard epsilon > 0, epsilon.isFinite else {
            throw NNError.invalidArgument(op: "batchnorm", detail: "ε = \(epsilon) must be a positive number")
        }
        guard averagingBeta >= 0, averagingBeta < 1 else {
            throw NNError.invalidArgument(
                op: "batchnorm", detail: "averaging β = \(averagingBeta) must lie in [0, 1) (0.9 = PyTorch momentum 0.1)")
        }
        return inputWidth
    }

    public func state(at position: LayerPosition) -> [LayerStateEntry] {
        let n = [position.inputWidth]
        return [
            LayerStateEntry("weight", shape: n, role: .parameter(penalized: false)),
            LayerStateEntry("bias", shape: n, role: .parameter(penalized: false)),
            LayerStateEntry("running_mean", shape: n, role: .buffer(nonNegative: false)),
            LayerStateEntry("running_var", shape: n, role: .buffer(nonNegative: true)),
            LayerStateEntry("num_batches_tracked", shape: [], role: .counter),
        ]
    }

    public func pytorchModule(at position: LayerPosition) -> String? {
        "nn.BatchNorm1d(\(position.inputWidth), eps=\(pythonLiteral(Double(epsilon))), momentum=\(pythonLiteral(1 - Double(averagingBeta))))"
    }

    public func makeLayer(at position: LayerPosition, builder: LayerBuilder) throws -> any Layer {
        try BatchNormLayer(index: position.index, width: position.inputWidth, epsilon: epsilon,
                           averagingBeta: averagingBeta, builder: builder)
    }
}

/// A Float hyperparameter as Python source: 6 significant digits, so 1 − 0.9f reads 0.1.
func pythonLiteral(_ value: Double) -> String {
    String(format: "%g", value)
}

final class BatchNormLayer: Layer {
    let index: Int
    let outputWidth: Int
    let epsilon: Float
    let averagingBeta: Float
    let gamma: Parameter
    let beta: Parameter
    let runningMean: LayerBuffer
    let runningVariance: LayerBuffer
    /// Training-mode forward passes so far (PyTorch's `num_batches_tracked`).
    let batchesTracked: LayerCounter
    private let savedMean: Tensor
    private let savedInverseStd: Tensor
    private let backend: any Backend
    private var scratch = BatchBufferCache<Buffers>()
    private var savedInput: Tensor?
    private var savedBuffers: Buffers?
    /// Whether the last forward applied the following ReLU (``LayerFusion``): its output is then
    /// the ReLU's, and backward masks the incoming gradient by it.
    private var savedReLU = false
    private var syncScratch = BatchBufferCache<SyncBatchNorm.Scratch>()
    /// The global statistics of the last synchronised forward, for its backward.
    private var savedSync: (sync: SyncBatchNorm, mean: [Double], variance: [Double], shard: BatchShard)?

    private struct Buffers {
        let output: Tensor
        let inputGradient: Tensor
    }

    init(index: Int, width: Int, epsilon: Float, averagingBeta: Float, builder: LayerBuilder) throws {
        self.index = index
        self.outputWidth = width
        self.epsilon = epsilon
        self.averagingBeta = averagingBeta
        self.backend = builder.backend
        let v = Shape.vector(width)
        let ones = [Double](repeating: 1, count: width)
        gamma = try builder.parameter("weight", shape: v, exportShape: [width], initial: ones)
        beta = try builder.parameter("bias", shape: v, exportShape: [width])
        runningMean = try builder.buffer("running_mean", shape: v)
        runningVariance = try builder.buffer("running_var", shape: v, initial: ones, nonNegative: true)
        batchesTracked = builder.counter("num_batches_tracked")
        savedMean = try backend.makeTensor(v)
        savedInverseStd = try backend.makeTensor(v)
    }

    var parameters: [Parameter] { [gamma, beta] }
    var buffers: [LayerBuffer] { [runningMean, runningVariance] }
    var counters: [LayerCounter] { [batchesTracked] }

    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try forward(x, context: context, relu: false)
    }

    /// The forward, followed by max(0, ·) when `relu` (a ReLU layer after this one that ``Network``
    /// fuses into it); then ``backward(_:needsInputGradient:)`` takes dL/d(ReLU output).
    func forward(_ x: Tensor, context: ForwardContext, relu: Bool) throws -> Tensor {
        guard x.columns == outputWidth else {
            throw NNError.shapeMismatch(
                op: "layer \(index) (batchnorm)", detail: "expects \(outputWidth) features per sample but got \(x.columns)")
        }
        let b = try scratch.buffers(rows: x.rows) {
            Buffers(output: try backend.makeTensor(x.shape), inputGradient: try backend.makeTensor(x.shape))
        }
        savedSync = nil
        if context.training, let communicator = context.batchStatistics {
            try forwardSynchronised(x, output: b.output, communicator: communicator, shard: context.shard, relu: relu)
            batchesTracked.value += 1
            savedInput = x
        } else if context.training {
            try backend.batchNormForwardTraining(
                x, gamma: gamma.value, beta: beta.value, runningMean: runningMean.tensor, runningVariance: runningVariance.tensor,
                averagingBeta: averagingBeta, epsilon: epsilon,
                output: b.output, savedMean: savedMean, savedInverseStd: savedInverseStd, relu: relu)
            batchesTracked.value += 1
            savedInput = x
        } else {
            try backend.batchNormForwardInference(
                x, gamma: gamma.value, beta: beta.value, runningMean: runningMean.tensor, runningVariance: runningVariance.tensor,
                epsilon: epsilon, output: b.output, relu: relu)
            savedInput = nil
        }
        savedBuffers = b
        savedReLU = relu
        return b.output
    }

    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard let x = savedInput, let b = savedBuffers, x.rows == dy.rows else { throw NNError.missingForward(layer: index, kind: "batchnorm") }
        if savedReLU {
            try backend.batchNormBackward(
                x, reluOutput: b.output, gradOutput: dy, gamma: gamma.value, savedMean: savedMean, savedInverseStd: savedInverseStd,
                gradInput: b.inputGradient, gradGamma: gamma.gradient, gradBeta: beta.gradient)
        } else {
            try backend.batchNormBackward(
                x, gradOutput: dy, gamma: gamma.value, savedMean: savedMean, savedInverseStd: savedInverseStd,
                gradInput: b.inputGradient, gradGamma: gamma.gradient, gradBeta: beta.gradient)
        }
        guard needsInputGradient else { return nil }
        if let saved = savedSync {
            let scratch = try syncScratch.buffers(rows: x.rows) {
                try SyncBatchNorm.makeScratch(rows: x.rows, width: outputWidth, backend: backend)
            }
            try saved.sync.correctInputGradient(x, dx: b.inputGradient, gamma: gamma.value, gradGamma: gamma.gradient,
                                                gradBeta: beta.gradient, mean: saved.mean, variance: saved.variance,
                                                shard: saved.shard, scratch: scratch)
        }
        return b.inputGradient
    }

    /// Training-mode forward with statistics over every rank's shard of the global batch; the
    /// running averages get the same update as one process's over the whole batch. A fused ReLU is
    /// applied by the normalising op; backward's correction for the global statistics needs nothing
    /// else, since it is a function of dγ and dβ, which the masked gradient already gives.
    private func forwardSynchronised(_ x: Tensor, output: Tensor, communicator: any Communicator, shard: BatchShard,
                                     relu: Bool) throws {
        let sync = SyncBatchNorm(communicator: communicator, backend: backend, epsilon: epsilon)
        let scratch = try syncScratch.buffers(rows: x.rows) {
            try SyncBatchNorm.makeScratch(rows: x.rows, width: outputWidth, backend: backend)
        }
        let (mean, variance) = try sync.statistics(x, shard: shard, scratch: scratch)
        let total = Double(shard.globalCount)
        let keep = Double(averagingBeta), blend = 1 - keep
        var runningMeans = try backend.download(runningMean.tensor), runningVariances = try backend.download(runningVariance.tensor)
        for j in 0..<outputWidth {
            let unbiased = total > 1 ? variance[j] * total / (total - 1) : variance[j]
            runningMeans[j] = Float(keep * Double(runningMeans[j]) + blend * mean[j])
            runningVariances[j] = Float(keep * Double(runningVariances[j]) + blend * unbiased)
        }
        try backend.upload(runningMeans, to: runningMean.tensor)
        try backend.upload(runningVariances, to: runningVariance.tensor)
        try backend.upload(mean.map { Float($0) }, to: savedMean)
        try backend.upload(variance.map { Float(1 / ($0 + Double(epsilon)).squareRoot()) }, to: savedInverseStd)
        try backend.upload(mean.map { Float($0) }, to: scratch.mean)
        try backend.upload(variance.map { Float($0) }, to: scratch.variance)
        try backend.batchNormForwardInference(x, gamma: gamma.value, beta: beta.value, runningMean: scratch.mean,
                                              runningVariance: scratch.variance, epsilon: epsilon, output: output, relu: relu)
        savedSync = (sync, mean, variance, shard)
    }
}
