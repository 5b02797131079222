import NNCore

/// z = x·Wᵀ + b, with W stored out × in exactly as PyTorch's `Linear`, so export needs no transpose.
final class DenseLayer: Layer {
    let index: Int
    let inputWidth: Int
    let outputWidth: Int
    let weight: Parameter
    let bias: Parameter?
    private let backend: any Backend
    private var buffers = BatchBufferCache<Buffers>()
    private var savedInput: Tensor?
    private var savedBuffers: Buffers?

    private struct Buffers {
        let output: Tensor
        let inputGradient: Tensor
    }

    init(index: Int, inputWidth: Int, units: Int, hasBias: Bool, initializer: WeightInit,
         generator: inout SeededGenerator, backend: any Backend) throws {
        self.index = index
        self.inputWidth = inputWidth
        self.outputWidth = units
        self.backend = backend
        let shape = Shape(units, inputWidth)
        let std = initializer.variance(fanIn: inputWidth).squareRoot()
        // Drawn in Double and uploaded at the backend's precision, so a float64 gradient check
        // starts from the same distribution as float32 training.
        let initial = (0..<shape.count).map { _ in generator.nextGaussian() * std }
        weight = Parameter(name: "\(index).weight", value: try backend.makeTensor(initial, shape: shape),
                           gradient: try backend.makeTensor(shape), isPenalized: true,
                           exportShape: [units, inputWidth], layerIndex: index)
        if hasBias {
            bias = Parameter(name: "\(index).bias", value: try backend.makeTensor(.vector(units)),
                             gradient: try backend.makeTensor(.vector(units)), isPenalized: false,
                             exportShape: [units], layerIndex: index)
        } else {
            bias = nil
        }
    }

    var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        guard x.columns == inputWidth else {
            throw NNError.shapeMismatch(
                op: "layer \(index) (dense)",
                detail: "expects \(inputWidth) input features per sample but got \(x.columns)")
        }
        let b = try buffers.buffers(rows: x.rows) {
            Buffers(output: try backend.makeTensor(Shape(x.rows, outputWidth)),
                    inputGradient: try backend.makeTensor(Shape(x.rows, inputWidth)))
        }
        try backend.gemm(x, transposeA: false, weight.value, transposeB: true, into: b.output, alpha: 1, beta: 0)
        if let bias { try backend.addRowVector(bias.value, to: b.output) }
        savedInput = context.training ? x : nil
        savedBuffers = b
        return b.output
    }

    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard let x = savedInput, let b = savedBuffers, b.output.rows == dy.rows else { throw missingForward("dense") }
        // dW = dZᵀ·X (out × in); db = Σ rows of dZ; dX = dZ·W.
        try backend.gemm(dy, transposeA: true, x, transposeB: false, into: weight.gradient, alpha: 1, beta: 0)
        if let bias { try backend.columnSums(dy, into: bias.gradient, alpha: 1, beta: 0) }
        guard needsInputGradient else { return nil }
        try backend.gemm(dy, transposeA: false, weight.value, transposeB: false, into: b.inputGradient, alpha: 1, beta: 0)
        return b.inputGradient
    }

    func namedTensors() throws -> [NamedTensor] {
        try parameters.map { .float32($0.name, shape: $0.exportShape, values: try backend.download($0.value)) }
    }

    func load(_ table: inout NamedTensorTable) throws {
        for p in parameters {
            if let values = table.floats(p.name, shape: p.exportShape) {
                try backend.upload(values, to: p.value)
            }
        }
    }
}
