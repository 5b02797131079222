import NNCore

/// Fully connected: z = x·Wᵀ + b, with W stored out × in exactly as PyTorch's `Linear`, so export
/// needs no transpose. The bias is dropped when the next layer cancels it (batch norm).
public struct DenseDefinition: LayerDefinition {
    public static let kind = "dense"
    public var units: Int
    public var initializer: WeightInit

    public init(units: Int, initializer: WeightInit) {
        self.units = units
        self.initializer = initializer
    }

    public func outputWidth(inputWidth: Int) throws -> Int {
        guard (1...NetworkSpec.maximumWidth).contains(units) else {
            throw NNError.invalidArgument(op: "dense", detail: "has \(units) units; it needs 1…\(NetworkSpec.maximumWidth)")
        }
        return units
    }

    /// Whether the layer at `position` carries a bias: not when the next layer cancels it.
    public func hasBias(at position: LayerPosition) -> Bool {
        !(position.next?.definition.cancelsPrecedingBias ?? false)
    }

    public func state(at position: LayerPosition) -> [LayerStateEntry] {
        var entries = [LayerStateEntry("weight", shape: [units, position.inputWidth], role: .parameter(penalized: true))]
        if hasBias(at: position) { entries.append(LayerStateEntry("bias", shape: [units], role: .parameter(penalized: false))) }
        return entries
    }

    public func pytorchModule(at position: LayerPosition) -> String? {
        "nn.Linear(\(position.inputWidth), \(units)\(hasBias(at: position) ? "" : ", bias=False"))"
    }

    public func makeLayer(at position: LayerPosition, builder: LayerBuilder) throws -> any Layer {
        let shape = Shape(units, position.inputWidth)
        let std = initializer.variance(fanIn: position.inputWidth).squareRoot()
        let weight = try builder.parameter("weight", shape: shape, exportShape: [units, position.inputWidth],
                                           initial: builder.gaussian(count: shape.count, standardDeviation: std), penalized: true)
        let bias = hasBias(at: position)
            ? try builder.parameter("bias", shape: .vector(units), exportShape: [units]) : nil
        return DenseLayer(index: position.index, inputWidth: position.inputWidth, weight: weight, bias: bias, backend: builder.backend)
    }
}

final class DenseLayer: Layer {
    let index: Int
    let inputWidth: Int
    let weight: Parameter
    let bias: Parameter?
    private let backend: any Backend
    private var scratch = BatchBufferCache<Buffers>()
    private var savedInput: Tensor?
    private var savedBuffers: Buffers?

    private struct Buffers {
        let output: Tensor
        let inputGradient: Tensor
    }

    init(index: Int, inputWidth: Int, weight: Parameter, bias: Parameter?, backend: any Backend) {
        self.index = index
        self.inputWidth = inputWidth
        self.weight = weight
        self.bias = bias
        self.backend = backend
    }

    var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        guard x.columns == inputWidth else {
            throw NNError.shapeMismatch(
                op: "layer \(index) (dense)",
                detail: "expects \(inputWidth) input features per sample but got \(x.columns)")
        }
        let b = try scratch.buffers(rows: x.rows) {
            Buffers(output: try backend.makeTensor(Shape(x.rows, weight.value.rows)),
                    inputGradient: try backend.makeTensor(Shape(x.rows, inputWidth)))
        }
        // One op, so a backend can fuse the bias into the product's store (the OpenCL tiled family does).
        try backend.gemm(x, transposeA: false, weight.value, transposeB: true, into: b.output, alpha: 1, bias: bias?.value, relu: false)
        savedInput = context.training ? x : nil
        savedBuffers = b
        return b.output
    }

    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard let x = savedInput, let b = savedBuffers, b.output.rows == dy.rows else {
            throw NNError.missingForward(layer: index, kind: "dense")
        }
        // dW = dZᵀ·X (out × in); db = Σ rows of dZ; dX = dZ·W.
        try backend.gemm(dy, transposeA: true, x, transposeB: false, into: weight.gradient, alpha: 1, beta: 0)
        if let bias { try backend.columnSums(dy, into: bias.gradient, alpha: 1, beta: 0) }
        guard needsInputGradient else { return nil }
        try backend.gemm(dy, transposeA: false, weight.value, transposeB: false, into: b.inputGradient, alpha: 1, beta: 0)
        return b.inputGradient
    }
}
