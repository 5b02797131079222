// Layers written the way a user of the library writes them: only `import NNTrain`, no @testable,
// so these files compile only while the public extension points suffice.
import NNTrain

/// y = α·relu(x): a parameterless layer, relying on the protocol's defaults for state.
struct ScaledReLUDefinition: LayerDefinition {
    static let kind = "scaledReLU"
    var scale: Float

    var displayName: String { "scaled relu ×\(scale)" }

    func outputWidth(inputWidth: Int) throws -> Int {
        guard scale > 0, scale.isFinite else {
            throw NNError.invalidArgument(op: "scaled relu", detail: "scale \(scale) must be a positive number")
        }
        return inputWidth
    }

    func makeLayer(at position: LayerPosition, builder: LayerBuilder) throws -> any Layer {
        ScaledReLU(index: position.index, scale: scale, backend: builder.backend)
    }
}

final class ScaledReLU: Layer {
    let index: Int
    let scale: Float
    let backend: any Backend
    /// One output buffer per batch size (the training batch, the last partial one, evaluation's).
    private var outputs: [Int: Tensor] = [:]
    private var savedOutput: Tensor?

    init(index: Int, scale: Float, backend: any Backend) {
        self.index = index
        self.scale = scale
        self.backend = backend
    }

    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        let y = try outputs[x.rows] ?? backend.makeTensor(x.shape)
        outputs[x.rows] = y
        try backend.activationForward(.relu, x, into: y)
        try backend.scale(y, by: scale)
        savedOutput = context.training ? y : nil
        return y
    }

    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard let y = savedOutput, y.shape == dy.shape else { throw NNError.missingForward(layer: index, kind: "scaled relu") }
        guard needsInputGradient else { return nil }
        // y > 0 exactly where relu(x) > 0, so the ReLU mask from y is right; then dx = α·mask·dy.
        try backend.activationBackward(.relu, output: y, gradOutput: dy, into: dy)
        try backend.scale(dy, by: scale)
        return dy
    }
}

/// y = x + b with a learned per-feature shift b: a layer with a parameter, a state-dict entry and a
/// PyTorch-free architecture (so export must refuse it).
struct LearnedShiftDefinition: LayerDefinition {
    static let kind = "learnedShift"

    func outputWidth(inputWidth: Int) throws -> Int { inputWidth }

    func state(at position: LayerPosition) -> [LayerStateEntry] {
        [LayerStateEntry("shift", shape: [position.inputWidth], role: .parameter(penalized: false))]
    }

    func makeLayer(at position: LayerPosition, builder: LayerBuilder) throws -> any Layer {
        let shift = try builder.parameter("shift", shape: .vector(position.inputWidth), exportShape: [position.inputWidth])
        return LearnedShift(index: position.index, shift: shift, backend: builder.backend)
    }
}

final class LearnedShift: Layer {
    let index: Int
    let shift: Parameter
    let backend: any Backend
    private var outputs: [Int: Tensor] = [:]
    private var trained = false

    init(index: Int, shift: Parameter, backend: any Backend) {
        self.index = index
        self.shift = shift
        self.backend = backend
    }

    var parameters: [Parameter] { [shift] }

    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        let y = try outputs[x.rows] ?? backend.makeTensor(x.shape)
        outputs[x.rows] = y
        try backend.copy(x, to: y)
        try backend.addRowVector(shift.value, to: y)
        trained = context.training
        return y
    }

    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard trained else { throw NNError.missingForward(layer: index, kind: "learned shift") }
        try backend.columnSums(dy, into: shift.gradient, alpha: 1, beta: 0)
        return needsInputGradient ? dy : nil
    }
}

/// A layer whose definition declares a tensor it never builds: the network must refuse it.
struct ForgetfulDefinition: LayerDefinition {
    static let kind = "forgetful"

    func outputWidth(inputWidth: Int) throws -> Int { inputWidth }

    func state(at position: LayerPosition) -> [LayerStateEntry] {
        [LayerStateEntry("scale", shape: [position.inputWidth], role: .parameter(penalized: false))]
    }

    func makeLayer(at position: LayerPosition, builder: LayerBuilder) throws -> any Layer {
        ScaledReLU(index: position.index, scale: 1, backend: builder.backend)
    }
}
