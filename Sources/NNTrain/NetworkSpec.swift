import Foundation
import NNCore

/// How a dense layer's weights are drawn: N(0, σ²) with σ² = 2/n (He, for ReLU) or 1/n (the
/// course's Xavier variant, for tanh/sigmoid), n being the layer's input width.
public enum WeightInit: String, Sendable, Codable, CaseIterable {
    case he
    case xavier

    /// The variance of each weight for a layer with `fanIn` inputs.
    public func variance(fanIn: Int) -> Double {
        switch self {
        case .he: return 2 / Double(fanIn)
        case .xavier: return 1 / Double(fanIn)
        }
    }
}

/// The output layer's loss: softmax + cross-entropy over C classes (dz = ŷ − y), or, for C = 2,
/// sigmoid + binary cross-entropy on a single logit (logistic regression).
public enum ClassifierHead: String, Sendable, Codable, CaseIterable {
    case softmax
    case sigmoid

    /// Width of the final dense layer for `classes` classes.
    public func outputWidth(classes: Int) -> Int {
        self == .sigmoid ? 1 : classes
    }
}

/// One layer of a sequential network. The position in ``NetworkSpec/layers`` is the layer's index in
/// the equivalent PyTorch `nn.Sequential`, so activations and dropout count as layers.
public enum LayerSpec: Sendable, Codable, Equatable {
    /// Fully connected: z = x·Wᵀ + b with W stored out × in (as PyTorch's `Linear`). The bias is
    /// dropped when batch norm follows, because β takes its role.
    case dense(units: Int, initializer: WeightInit)
    /// Per-feature batch normalisation with learnable γ, β. `averagingBeta` is the course's β for
    /// the running averages (r ← β·r + (1 − β)·θ), i.e. 1 − PyTorch's `momentum`: 0.9 ↔ 0.1.
    case batchNorm(epsilon: Float, averagingBeta: Float)
    case activation(Activation)
    /// Inverted dropout keeping each unit with probability `keep` (PyTorch's p = 1 − keep).
    case dropout(keep: Float)

    /// Batch norm with PyTorch's defaults (ε = 1e-5, momentum 0.1).
    public static let batchNorm = LayerSpec.batchNorm(epsilon: 1e-5, averagingBeta: 0.9)

    /// A short name for reports: "dense", "batchnorm", "relu", "dropout".
    public var kindName: String {
        switch self {
        case .dense: return "dense"
        case .batchNorm: return "batchnorm"
        case let .activation(a): return a.rawValue
        case .dropout: return "dropout"
        }
    }
}

/// A Codable description of a sequential classifier: the architecture saved with every model.
///
/// `layers` must end with the output dense layer whose width matches the head: `classes` units for
/// softmax, one unit for sigmoid (which needs `classes == 2`).
public struct NetworkSpec: Sendable, Codable, Equatable {
    public var inputWidth: Int
    public var layers: [LayerSpec]
    public var classes: Int
    public var head: ClassifierHead

    /// Validates the description.
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` naming the layer for a width below 1, a
    ///   keep probability outside (0, 1], a bad batch-norm ε or β, or an output that does not fit the head.
    public init(inputWidth: Int, layers: [LayerSpec], classes: Int, head: ClassifierHead = .softmax) throws {
        self.inputWidth = inputWidth
        self.layers = layers
        self.classes = classes
        self.head = head
        try validate()
    }

    /// The common multilayer-perceptron recipe: for each hidden size, Dense → [BatchNorm] →
    /// activation → [Dropout], then the output Dense for the head.
    ///
    /// - Parameters:
    ///   - inputWidth: features per sample.
    ///   - hidden: hidden layer widths, in order; empty for softmax (or logistic) regression.
    ///   - classes: number of classes.
    ///   - activation: the hidden layers' activation.
    ///   - batchNorm: batch normalisation after each hidden dense layer.
    ///   - keepProbability: dropout keep probability after each hidden activation; 1 means no dropout layers.
    ///   - initializer: defaults to He for ReLU and Xavier for tanh/sigmoid.
    ///   - head: softmax over the classes, or sigmoid for two classes.
    public static func mlp(inputWidth: Int, hidden: [Int], classes: Int,
                           activation: Activation = .relu, batchNorm: Bool = true,
                           keepProbability: Float = 1, initializer: WeightInit? = nil,
                           head: ClassifierHead = .softmax) throws -> NetworkSpec {
        try OpCheck.keepProbability("NetworkSpec.mlp", keepProbability)
        let initialiser = initializer ?? (activation == .relu ? .he : .xavier)
        var layers: [LayerSpec] = []
        for units in hidden {
            layers.append(.dense(units: units, initializer: initialiser))
            if batchNorm { layers.append(.batchNorm) }
            layers.append(.activation(activation))
            if keepProbability < 1 { layers.append(.dropout(keep: keepProbability)) }
        }
        layers.append(.dense(units: head.outputWidth(classes: classes), initializer: .xavier))
        return try NetworkSpec(inputWidth: inputWidth, layers: layers, classes: classes, head: head)
    }

    /// The widest layer (and input) accepted: far beyond any dense network that trains, and small
    /// enough that every tensor's element count fits an `Int` with room to spare.
    public static let maximumWidth = 1 << 24
    /// The most layers a network may have.
    public static let maximumLayers = 10_000
    /// The most parameters a network may have: 2^28 (268 million) Float32 values are 1 GiB, and
    /// training holds about four copies (values, gradients, two Adam moments).
    public static let maximumParameters = 1 << 28

    /// Checks every rule of ``init(inputWidth:layers:classes:head:)``; call after decoding.
    ///
    /// Sizes come first and are checked without overflow, so a damaged checkpoint or an absurd
    /// `--layers` is refused, naming the limit, before anything is allocated.
    public func validate() throws {
        let op = "NetworkSpec"
        guard inputWidth >= 1, inputWidth <= Self.maximumWidth else {
            throw NNError.invalidArgument(op: op, detail: "input width \(inputWidth) must lie in 1…\(Self.maximumWidth)")
        }
        guard classes >= 2, classes <= Self.maximumWidth else {
            throw NNError.invalidArgument(op: op, detail: "\(classes) classes; a classifier needs 2…\(Self.maximumWidth)")
        }
        guard layers.count <= Self.maximumLayers else {
            throw NNError.invalidArgument(op: op, detail: "\(layers.count) layers; at most \(Self.maximumLayers) are supported")
        }
        for (i, layer) in layers.enumerated() {
            if case let .dense(units, _) = layer, !(1...Self.maximumWidth).contains(units) {
                throw NNError.invalidArgument(op: op, detail: "layer \(i) (dense) has \(units) units; it needs 1…\(Self.maximumWidth)")
            }
        }
        let parameters = tensorShapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
        guard parameters <= Self.maximumParameters else {
            throw NNError.invalidArgument(
                op: op,
                detail: "\(parameters) parameters; at most \(Self.maximumParameters) (1 GiB of Float32) are supported, use narrower layers")
        }
        if head == .sigmoid, classes != 2 {
            throw NNError.invalidArgument(
                op: op, detail: "the sigmoid head is binary (2 classes) but \(classes) were given; use the softmax head")
        }
        guard let last = layers.last, case let .dense(units, _) = last else {
            throw NNError.invalidArgument(
                op: op, detail: "the last layer must be the output dense layer with \(head.outputWidth(classes: classes)) unit(s)")
        }
        guard units == head.outputWidth(classes: classes) else {
            throw NNError.invalidArgument(
                op: op,
                detail: "layer \(layers.count - 1) (output dense) has \(units) units but the \(head.rawValue) head over \(classes) classes needs \(head.outputWidth(classes: classes))")
        }
        for (i, layer) in layers.enumerated() {
            switch layer {
            case .dense:
                break
            case let .batchNorm(eps, beta):
                guard eps > 0, eps.isFinite else {
                    throw NNError.invalidArgument(op: op, detail: "layer \(i) (batchnorm) ε = \(eps) must be a positive number")
                }
                guard beta >= 0, beta < 1 else {
                    throw NNError.invalidArgument(
                        op: op, detail: "layer \(i) (batchnorm) averaging β = \(beta) must lie in [0, 1) (0.9 = PyTorch momentum 0.1)")
                }
            case .activation:
                break
            case let .dropout(keep):
                do { try OpCheck.keepProbability(op, keep) } catch {
                    throw NNError.invalidArgument(op: op, detail: "layer \(i) (dropout) keep probability \(keep) must lie in (0, 1]")
                }
            }
        }
    }

    /// Feature width after each layer (the element at i is layer i's output width).
    public var layerOutputWidths: [Int] {
        var width = inputWidth
        return layers.map { layer in
            if case let .dense(units, _) = layer { width = units }
            return width
        }
    }

    /// State-dict names and PyTorch shapes of every parameter and buffer, in ``Network/namedTensors()``
    /// order: what a checkpoint of this architecture holds. Products stay below 2^48 once the widths
    /// are within ``maximumWidth``, so nothing here overflows.
    public var tensorShapes: [(name: String, shape: [Int])] {
        let widths = layerOutputWidths
        var shapes: [(name: String, shape: [Int])] = []
        for (i, layer) in layers.enumerated() {
            let inWidth = i == 0 ? inputWidth : widths[i - 1]
            switch layer {
            case let .dense(units, _):
                shapes.append(("\(i).weight", [units, inWidth]))
                if denseHasBias(at: i) { shapes.append(("\(i).bias", [units])) }
            case .batchNorm:
                for name in ["weight", "bias", "running_mean", "running_var"] { shapes.append(("\(i).\(name)", [inWidth])) }
                shapes.append(("\(i).num_batches_tracked", []))
            case .activation, .dropout:
                break
            }
        }
        return shapes
    }

    /// Throws unless `tensors` are exactly this architecture's state dict: every name present once,
    /// with its shape and type, and finite. Checked before a network is built from a file, so a file
    /// whose architecture and tensors disagree never gets to allocate for the architecture it claims.
    public func checkTensors(_ tensors: [NamedTensor], source: String, architecture: String) throws {
        var table = NamedTensorTable(tensors, source: source)
        for (name, shape) in tensorShapes {
            if shape.isEmpty { _ = table.integer(name) } else { _ = table.floats(name, shape: shape) }
        }
        try table.finish(expectedFrom: "this network (\(architecture))")
    }

    /// Whether dense layer `index` carries a bias: not when batch norm follows it.
    public func denseHasBias(at index: Int) -> Bool {
        guard index + 1 < layers.count, case .batchNorm = layers[index + 1] else { return true }
        return false
    }

    /// Whether any layer behaves differently in training and evaluation.
    public var hasBatchNorm: Bool {
        layers.contains { if case .batchNorm = $0 { return true } else { return false } }
    }

    /// The equivalent PyTorch module, as Python source, whose `state_dict()` has exactly the names
    /// and shapes of ``Network/namedTensors()`` (so `load_state_dict(strict=True)` accepts a checkpoint).
    public var pytorchSource: String {
        let widths = layerOutputWidths
        var lines: [String] = []
        for (i, layer) in layers.enumerated() {
            let inWidth = i == 0 ? inputWidth : widths[i - 1]
            switch layer {
            case let .dense(units, _):
                lines.append("nn.Linear(\(inWidth), \(units)\(denseHasBias(at: i) ? "" : ", bias=False"))")
            case let .batchNorm(eps, beta):
                lines.append("nn.BatchNorm1d(\(inWidth), eps=\(Self.python(Double(eps))), momentum=\(Self.python(1 - Double(beta))))")
            case .activation(.relu): lines.append("nn.ReLU()")
            case .activation(.tanh): lines.append("nn.Tanh()")
            case .activation(.sigmoid): lines.append("nn.Sigmoid()")
            case let .dropout(keep):
                lines.append("nn.Dropout(p=\(Self.python(1 - Double(keep))))")
            }
        }
        return "nn.Sequential(\n" + lines.map { "    \($0)," }.joined(separator: "\n") + "\n)"
    }

    /// A Float hyperparameter as Python source: 6 significant digits, so 1 − 0.9f reads 0.1.
    private static func python(_ value: Double) -> String {
        String(format: "%g", value)
    }
}
