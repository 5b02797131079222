import NNCore
import NNDistributed

/// Per-feature batch normalisation (PyTorch `BatchNorm1d` numerics): batch statistics in training
/// mode, running statistics in evaluation mode, learnable γ ("weight") and β ("bias").
final class BatchNormLayer: Layer {
    let index: Int
    let outputWidth: Int
    let epsilon: Float
    let averagingBeta: Float
    let gamma: Parameter
    let beta: Parameter
    let runningMean: Tensor
    let runningVariance: Tensor
    /// Training-mode forward passes so far (PyTorch's `num_batches_tracked`).
    private(set) var batchesTracked: Int64 = 0
    private let savedMean: Tensor
    private let savedInverseStd: Tensor
    private let backend: any Backend
    private var buffers = BatchBufferCache<Buffers>()
    private var savedInput: Tensor?
    private var savedBuffers: Buffers?
    private var syncScratch = BatchBufferCache<SyncBatchNorm.Scratch>()
    /// The global statistics of the last synchronised forward, for its backward.
    private var savedSync: (sync: SyncBatchNorm, mean: [Double], variance: [Double], shard: BatchShard)?

    private struct Buffers {
        let output: Tensor
        let inputGradient: Tensor
    }

    init(index: Int, width: Int, epsilon: Float, averagingBeta: Float, backend: any Backend) throws {
        self.index = index
        self.outputWidth = width
        self.epsilon = epsilon
        self.averagingBeta = averagingBeta
        self.backend = backend
        let v = Shape.vector(width)
        let ones = [Float](repeating: 1, count: width)
        gamma = Parameter(name: "\(index).weight", value: try backend.makeTensor(ones, shape: v),
                          gradient: try backend.makeTensor(v), isPenalized: false, exportShape: [width], layerIndex: index)
        beta = Parameter(name: "\(index).bias", value: try backend.makeTensor(v),
                         gradient: try backend.makeTensor(v), isPenalized: false, exportShape: [width], layerIndex: index)
        runningMean = try backend.makeTensor(v)
        runningVariance = try backend.makeTensor(ones, shape: v)
        savedMean = try backend.makeTensor(v)
        savedInverseStd = try backend.makeTensor(v)
    }

    var parameters: [Parameter] { [gamma, beta] }

    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        guard x.columns == outputWidth else {
            throw NNError.shapeMismatch(
                op: "layer \(index) (batchnorm)", detail: "expects \(outputWidth) features per sample but got \(x.columns)")
        }
        let b = try buffers.buffers(rows: x.rows) {
            Buffers(output: try backend.makeTensor(x.shape), inputGradient: try backend.makeTensor(x.shape))
        }
        savedSync = nil
        if context.training, let communicator = context.batchStatistics {
            try forwardSynchronised(x, output: b.output, communicator: communicator, shard: context.shard)
            batchesTracked += 1
            savedInput = x
        } else if context.training {
            try backend.batchNormForwardTraining(
                x, gamma: gamma.value, beta: beta.value, runningMean: runningMean, runningVariance: runningVariance,
                averagingBeta: averagingBeta, epsilon: epsilon,
                output: b.output, savedMean: savedMean, savedInverseStd: savedInverseStd)
            batchesTracked += 1
            savedInput = x
        } else {
            try backend.batchNormForwardInference(
                x, gamma: gamma.value, beta: beta.value, runningMean: runningMean, runningVariance: runningVariance,
                epsilon: epsilon, output: b.output)
            savedInput = nil
        }
        savedBuffers = b
        return b.output
    }

    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard let x = savedInput, let b = savedBuffers, x.rows == dy.rows else { throw missingForward("batchnorm") }
        try backend.batchNormBackward(
            x, gradOutput: dy, gamma: gamma.value, savedMean: savedMean, savedInverseStd: savedInverseStd,
            gradInput: b.inputGradient, gradGamma: gamma.gradient, gradBeta: beta.gradient)
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
    /// running averages get the same update as one process's over the whole batch.
    private func forwardSynchronised(_ x: Tensor, output: Tensor, communicator: any Communicator, shard: BatchShard) throws {
        let sync = SyncBatchNorm(communicator: communicator, backend: backend, epsilon: epsilon)
        let scratch = try syncScratch.buffers(rows: x.rows) {
            try SyncBatchNorm.makeScratch(rows: x.rows, width: outputWidth, backend: backend)
        }
        let (mean, variance) = try sync.statistics(x, shard: shard, scratch: scratch)
        let total = Double(shard.globalCount)
        let keep = Double(averagingBeta), blend = 1 - keep
        var runningMeans = try backend.download(runningMean), runningVariances = try backend.download(runningVariance)
        for j in 0..<outputWidth {
            let unbiased = total > 1 ? variance[j] * total / (total - 1) : variance[j]
            runningMeans[j] = Float(keep * Double(runningMeans[j]) + blend * mean[j])
            runningVariances[j] = Float(keep * Double(runningVariances[j]) + blend * unbiased)
        }
        try backend.upload(runningMeans, to: runningMean)
        try backend.upload(runningVariances, to: runningVariance)
        try backend.upload(mean.map { Float($0) }, to: savedMean)
        try backend.upload(variance.map { Float(1 / ($0 + Double(epsilon)).squareRoot()) }, to: savedInverseStd)
        try backend.upload(mean.map { Float($0) }, to: scratch.mean)
        try backend.upload(variance.map { Float($0) }, to: scratch.variance)
        try backend.batchNormForwardInference(x, gamma: gamma.value, beta: beta.value, runningMean: scratch.mean,
                                              runningVariance: scratch.variance, epsilon: epsilon, output: output)
        savedSync = (sync, mean, variance, shard)
    }

    func namedTensors() throws -> [NamedTensor] {
        [
            .float32(gamma.name, shape: [outputWidth], values: try backend.download(gamma.value)),
            .float32(beta.name, shape: [outputWidth], values: try backend.download(beta.value)),
            .float32("\(index).running_mean", shape: [outputWidth], values: try backend.download(runningMean)),
            .float32("\(index).running_var", shape: [outputWidth], values: try backend.download(runningVariance)),
            .int64("\(index).num_batches_tracked", shape: [], integers: [batchesTracked]),
        ]
    }

    func load(_ table: inout NamedTensorTable) throws {
        let n = [outputWidth]
        if let v = table.floats(gamma.name, shape: n) { try backend.upload(v, to: gamma.value) }
        if let v = table.floats(beta.name, shape: n) { try backend.upload(v, to: beta.value) }
        if let v = table.floats("\(index).running_mean", shape: n) { try backend.upload(v, to: runningMean) }
        if let v = table.floats("\(index).running_var", shape: n) {
            if let bad = v.firstIndex(where: { !($0 >= 0) }) {
                throw NNError.invalidData(
                    source: "\(index).running_var", detail: "variance \(v[bad]) of feature \(bad) is negative or NaN")
            }
            try backend.upload(v, to: runningVariance)
        }
        if let count = table.integer("\(index).num_batches_tracked") { batchesTracked = count }
    }

    /// Copies running statistics (for early stopping's best-weights snapshot).
    var buffersForSnapshot: [Tensor] { [runningMean, runningVariance] }

    func setBatchesTracked(_ value: Int64) { batchesTracked = value }
}
