import NNCore

/// y = f(x) for ReLU, tanh or sigmoid; backward uses the saved output (f′ is a function of y).
final class ActivationLayer: Layer {
    let index: Int
    let outputWidth: Int
    let activation: Activation
    private let backend: any Backend
    private var buffers = BatchBufferCache<Tensor>()
    private var savedOutput: Tensor?

    init(index: Int, width: Int, activation: Activation, backend: any Backend) {
        self.index = index
        self.outputWidth = width
        self.activation = activation
        self.backend = backend
    }

    var parameters: [Parameter] { [] }

    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        let y = try buffers.buffers(rows: x.rows) { try backend.makeTensor(x.shape) }
        guard y.shape == x.shape else {
            throw NNError.shapeMismatch(op: "layer \(index) (\(activation.rawValue))",
                                        detail: "expects \(outputWidth) features per sample but got \(x.columns)")
        }
        try backend.activationForward(activation, x, into: y)
        savedOutput = context.training ? y : nil
        return y
    }

    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard let y = savedOutput, y.shape == dy.shape else { throw missingForward(activation.rawValue) }
        guard needsInputGradient else { return nil }
        // In place: dy is dead after this layer, so its buffer carries dx.
        try backend.activationBackward(activation, output: y, gradOutput: dy, into: dy)
        return dy
    }

    func namedTensors() throws -> [NamedTensor] { [] }
    func load(_ table: inout NamedTensorTable) throws {}
}

/// Inverted dropout: in training, y = x ⊙ mask with mask ∈ {0, 1/keep} drawn by Philox from the
/// network's seed and an advancing counter offset (identical on every backend); identity in evaluation.
final class DropoutLayer: Layer {
    let index: Int
    let outputWidth: Int
    let keepProbability: Float
    private let backend: any Backend
    private var buffers = BatchBufferCache<Buffers>()
    private var savedMask: Tensor?

    private struct Buffers {
        let mask: Tensor
        let output: Tensor
    }

    init(index: Int, width: Int, keepProbability: Float, backend: any Backend) {
        self.index = index
        self.outputWidth = width
        self.keepProbability = keepProbability
        self.backend = backend
    }

    var parameters: [Parameter] { [] }

    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        guard context.training else {
            savedMask = nil
            return x
        }
        let b = try buffers.buffers(rows: x.rows) {
            Buffers(mask: try backend.makeTensor(x.shape), output: try backend.makeTensor(x.shape))
        }
        guard b.output.shape == x.shape else {
            throw NNError.shapeMismatch(op: "layer \(index) (dropout)",
                                        detail: "expects \(outputWidth) features per sample but got \(x.columns)")
        }
        // Element i of this shard is element `first + i` of the global batch's draw.
        let first = context.shard.offset * x.columns
        if first % 4 == 0 {
            try backend.dropoutForward(x, keepProbability: keepProbability, seed: context.dropoutSeed,
                                       offset: context.dropoutOffset &+ UInt64(first / 4), mask: b.mask, output: b.output)
        } else {
            // The shard starts inside a Philox block, which the backends' kernels cannot: draw on the
            // host (the same function they compute) and apply it.
            try backend.upload(hostMask(count: x.count, first: first, context: context), to: b.mask)
            try backend.multiply(x, b.mask, into: b.output)
        }
        context.dropoutOffset &+= Philox.blocks(for: context.shard.globalCount * x.columns)
        savedMask = b.mask
        return b.output
    }

    private func hostMask(count: Int, first: Int, context: ForwardContext) -> [Float] {
        let kept = 1 / keepProbability
        return (0..<count).map { i in
            Philox.uniform(seed: context.dropoutSeed, offset: context.dropoutOffset, index: first + i) < keepProbability ? kept : 0
        }
    }

    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard let mask = savedMask, mask.shape == dy.shape else { throw missingForward("dropout") }
        guard needsInputGradient else { return nil }
        try backend.multiply(dy, mask, into: dy)
        return dy
    }

    func namedTensors() throws -> [NamedTensor] { [] }
    func load(_ table: inout NamedTensorTable) throws {}
}
