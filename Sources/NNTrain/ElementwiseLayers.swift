import NNCore

/// y = f(x) for ReLU, tanh or sigmoid. Encoded as `{"_0": "relu"}`, the format of the enum case it replaced.
public struct ActivationDefinition: LayerDefinition {
    public static let kind = "activation"
    public var activation: Activation

    public init(_ activation: Activation) {
        self.activation = activation
    }

    private enum CodingKeys: String, CodingKey {
        case activation = "_0"
    }

    public var displayName: String { activation.rawValue }

    public func outputWidth(inputWidth: Int) throws -> Int { inputWidth }

    public func pytorchModule(at position: LayerPosition) -> String? {
        switch activation {
        case .relu: return "nn.ReLU()"
        case .tanh: return "nn.Tanh()"
        case .sigmoid: return "nn.Sigmoid()"
        }
    }

    public func makeLayer(at position: LayerPosition, builder: LayerBuilder) throws -> any Layer {
        ActivationLayer(index: position.index, width: position.inputWidth, activation: activation, backend: builder.backend)
    }
}

/// Inverted dropout keeping each unit with probability `keep` (PyTorch's p = 1 − keep).
public struct DropoutDefinition: LayerDefinition {
    public static let kind = "dropout"
    public var keep: Float

    public init(keep: Float) {
        self.keep = keep
    }

    public func outputWidth(inputWidth: Int) throws -> Int {
        do { try OpCheck.keepProbability("dropout", keep) } catch {
            throw NNError.invalidArgument(op: "dropout", detail: "keep probability \(keep) must lie in (0, 1]")
        }
        return inputWidth
    }

    public func pytorchModule(at position: LayerPosition) -> String? {
        "nn.Dropout(p=\(pythonLiteral(1 - Double(keep))))"
    }

    public var forGradientCheck: DropoutDefinition { DropoutDefinition(keep: 1) }

    public func makeLayer(at position: LayerPosition, builder: LayerBuilder) throws -> any Layer {
        DropoutLayer(index: position.index, width: position.inputWidth, keepProbability: keep, backend: builder.backend)
    }
}

/// y = f(x) for ReLU, tanh or sigmoid; backward uses the saved output (f′ is a function of y).
final class ActivationLayer: Layer {
    let index: Int
    let outputWidth: Int
    let activation: Activation
    private let backend: any Backend
    private var scratch = BatchBufferCache<Tensor>()
    private var savedOutput: Tensor?

    init(index: Int, width: Int, activation: Activation, backend: any Backend) {
        self.index = index
        self.outputWidth = width
        self.activation = activation
        self.backend = backend
    }

    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        let y = try scratch.buffers(rows: x.rows) { try backend.makeTensor(x.shape) }
        guard y.shape == x.shape else {
            throw NNError.shapeMismatch(op: "layer \(index) (\(activation.rawValue))",
                                        detail: "expects \(outputWidth) features per sample but got \(x.columns)")
        }
        try backend.activationForward(activation, x, into: y)
        savedOutput = context.training ? y : nil
        return y
    }

    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard let y = savedOutput, y.shape == dy.shape else { throw NNError.missingForward(layer: index, kind: activation.rawValue) }
        guard needsInputGradient else { return nil }
        // In place: dy is dead after this layer, so its buffer carries dx.
        try backend.activationBackward(activation, output: y, gradOutput: dy, into: dy)
        return dy
    }

}

/// Inverted dropout: in training, y = x ⊙ mask with mask ∈ {0, 1/keep} drawn by Philox from the
/// network's seed and an advancing counter offset (identical on every backend); identity in evaluation.
final class DropoutLayer: Layer {
    let index: Int
    let outputWidth: Int
    let keepProbability: Float
    private let backend: any Backend
    private var scratch = BatchBufferCache<Buffers>()
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

    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        guard context.training else {
            savedMask = nil
            return x
        }
        let b = try scratch.buffers(rows: x.rows) {
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
        guard let mask = savedMask, mask.shape == dy.shape else { throw NNError.missingForward(layer: index, kind: "dropout") }
        guard needsInputGradient else { return nil }
        try backend.multiply(dy, mask, into: dy)
        return dy
    }

}
