import NNCore
import NNDistributed

/// Batch-norm statistics over the whole global batch, when its rows are spread over ranks
/// (PyTorch's SyncBatchNorm), built from the Backend's existing ops plus three small allreduces.
///
/// Forward: Σx per feature (allreduce) gives the global mean μ; Σ(x − μ)² (allreduce) the global
/// biased variance, the same two-pass form the single-process kernels use, so a large mean does
/// not cancel the variance. The output is then the inference kernel applied with (μ, σ²).
///
/// Backward: the local kernel, run with the global μ and 1/σ, yields this rank's dβ_r = Σdy and
/// dγ_r = Σdy·x̂ and a dx that is right except that its means are over the shard. With shard weights
/// w_r = m_r/M (the factor the gradient allreduce applies too) the global sums are B = Σ w_r·dβ_r and
/// G = Σ w_r·dγ_r, and in this rank's units the correct dx adds
/// (γ/σ)/m_r · ((dβ_r − B) + x̂·(dγ_r − G)): an affine function of x̂ per feature, which the
/// inference kernel evaluates with γ′ = (γ/σ)(dγ_r − G)/m_r and β′ = (γ/σ)(dβ_r − B)/m_r.
/// dγ and dβ stay local: the gradient allreduce turns them into G and B.
struct SyncBatchNorm {
    let communicator: any Communicator
    let backend: any Backend
    let epsilon: Float

    struct Scratch {
        let centred: Tensor
        let correction: Tensor
        let sums: Tensor
        let mean: Tensor
        let variance: Tensor
        let gammaPrime: Tensor
        let betaPrime: Tensor
    }

    static func makeScratch(rows: Int, width: Int, backend: any Backend) throws -> Scratch {
        let v = Shape.vector(width)
        return Scratch(centred: try backend.makeTensor(Shape(rows, width)), correction: try backend.makeTensor(Shape(rows, width)),
                       sums: try backend.makeTensor(v), mean: try backend.makeTensor(v), variance: try backend.makeTensor(v),
                       gammaPrime: try backend.makeTensor(v), betaPrime: try backend.makeTensor(v))
    }

    /// Global mean and biased variance per feature (in Double), from this rank's shard.
    func statistics(_ x: Tensor, shard: BatchShard, scratch: Scratch) throws -> (mean: [Double], variance: [Double]) {
        let n = x.columns
        let total = Double(shard.globalCount)
        try backend.columnSums(x, into: scratch.sums, alpha: 1, beta: 0)
        var sums = try backend.download(scratch.sums).map(Double.init)
        try communicator.allreduceSum(&sums)
        let mean = sums.map { $0 / total }
        try backend.upload(mean.map { -Float($0) }, to: scratch.mean)
        try backend.copy(x, to: scratch.centred)
        try backend.addRowVector(scratch.mean, to: scratch.centred)
        try backend.multiply(scratch.centred, scratch.centred, into: scratch.centred)
        try backend.columnSums(scratch.centred, into: scratch.sums, alpha: 1, beta: 0)
        var squares = try backend.download(scratch.sums).map(Double.init)
        try communicator.allreduceSum(&squares)
        guard sums.count == n, squares.count == n else {
            throw NNError.shapeMismatch(op: "synchronised batch norm", detail: "\(sums.count) sums for \(n) features")
        }
        return (mean, squares.map { $0 / total })
    }

    /// Turns the local backward's dx into the global one (see the type's comment).
    func correctInputGradient(_ x: Tensor, dx: Tensor, gamma: Tensor, gradGamma: Tensor, gradBeta: Tensor,
                              mean: [Double], variance: [Double], shard: BatchShard, scratch: Scratch) throws {
        let n = x.columns
        let w = Double(shard.count) / Double(shard.globalCount)
        let localGamma = try backend.download(gradGamma).map(Double.init)
        let localBeta = try backend.download(gradBeta).map(Double.init)
        var global = localGamma.map { $0 * w } + localBeta.map { $0 * w }
        try communicator.allreduceSum(&global)
        let g = try backend.download(gamma)
        let m = Double(shard.count)
        var gammaPrime = [Float](repeating: 0, count: n), betaPrime = [Float](repeating: 0, count: n)
        for j in 0..<n {
            let scale = Double(g[j]) / (variance[j] + Double(epsilon)).squareRoot() / m
            gammaPrime[j] = Float(scale * (localGamma[j] - global[j]))
            betaPrime[j] = Float(scale * (localBeta[j] - global[n + j]))
        }
        try backend.upload(gammaPrime, to: scratch.gammaPrime)
        try backend.upload(betaPrime, to: scratch.betaPrime)
        try backend.upload(mean.map { Float($0) }, to: scratch.mean)
        try backend.upload(variance.map { Float($0) }, to: scratch.variance)
        try backend.batchNormForwardInference(x, gamma: scratch.gammaPrime, beta: scratch.betaPrime, runningMean: scratch.mean,
                                              runningVariance: scratch.variance, epsilon: epsilon, output: scratch.correction)
        try backend.axpy(alpha: 1, scratch.correction, dx)
    }
}
