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

    /// The widest layer (and input) accepted: the data sets' limit, `Dataset.maximumWidth`.
    public static let maximumWidth = Dataset.maximumWidth
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
        let widths = try checkedOutputWidths()
        // A registered layer may declare any shapes, so the count is summed with overflow checks.
        var parameters = 0
        for (_, shape) in tensorShapes {
            let (count, overflow) = shape.reduce((1, false)) { acc, n in
                let (product, o) = acc.0.multipliedReportingOverflow(by: n)
                return (product, acc.1 || o || n < 0)
            }
            let (sum, sumOverflow) = parameters.addingReportingOverflow(count)
            parameters = overflow || sumOverflow ? Int.max : sum
        }
        guard parameters <= Self.maximumParameters else {
            throw NNError.invalidArgument(
                op: op,
                detail: "\(parameters) parameters; at most \(Self.maximumParameters) (1 GiB of Float32) are supported, use narrower layers")
        }
        if head == .sigmoid, classes != 2 {
            throw NNError.invalidArgument(
                op: op, detail: "the sigmoid head is binary (2 classes) but \(classes) were given; use the softmax head")
        }
        guard let last = layers.last?.definition(as: DenseDefinition.self) else {
            throw NNError.invalidArgument(
                op: op, detail: "the last layer must be the output dense layer with \(head.outputWidth(classes: classes)) unit(s)")
        }
        guard last.units == head.outputWidth(classes: classes), widths.last == last.units else {
            throw NNError.invalidArgument(
                op: op,
                detail: "layer \(layers.count - 1) (output dense) has \(last.units) units but the \(head.rawValue) head over \(classes) classes needs \(head.outputWidth(classes: classes))")
        }
    }

    /// Each layer's output width, every definition's hyperparameters checked on the way; an error
    /// names the layer.
    private func checkedOutputWidths() throws -> [Int] {
        var width = inputWidth
        return try layers.enumerated().map { i, layer in
            do {
                width = try layer.definition.outputWidth(inputWidth: width)
            } catch let NNError.invalidArgument(_, detail) {
                throw NNError.invalidArgument(op: "NetworkSpec", detail: "layer \(i) (\(layer.kindName)) \(detail)")
            }
            guard (1...Self.maximumWidth).contains(width) else {
                throw NNError.invalidArgument(
                    op: "NetworkSpec", detail: "layer \(i) (\(layer.kindName)) outputs \(width) features; at most \(Self.maximumWidth) are supported")
            }
            return width
        }
    }

    /// Feature width after each layer (the element at i is layer i's output width). For a spec that
    /// does not validate, a layer whose width cannot be computed passes its input width on.
    public var layerOutputWidths: [Int] {
        var width = inputWidth
        return layers.map { layer in
            width = (try? layer.definition.outputWidth(inputWidth: width)) ?? width
            return width
        }
    }

    /// Each layer's place in the network: widths in and out, and the layer after it.
    public var layerPositions: [LayerPosition] {
        let widths = layerOutputWidths
        return layers.indices.map { i in
            LayerPosition(index: i, inputWidth: i == 0 ? inputWidth : widths[i - 1], outputWidth: widths[i],
                          next: i + 1 < layers.count ? layers[i + 1] : nil)
        }
    }

    /// Every layer's declared state, with state-dict names ("\(index).\(name)"), in ``Network/namedTensors()`` order.
    public var stateEntries: [(name: String, entry: LayerStateEntry)] {
        zip(layers, layerPositions).flatMap { layer, position in
            layer.definition.state(at: position).map { ("\(position.index).\($0.name)", $0) }
        }
    }

    /// "64 → dense 32 → batchnorm → relu → dense 10 (softmax)": what the weights are. Initialisers and
    /// batch norm's ε and running-average β are left out: they shape training, not the weights.
    public var architectureDescription: String {
        let parts = layers.map { layer -> String in
            if let dense = layer.definition(as: DenseDefinition.self) { return "dense \(dense.units)" }
            if let dropout = layer.definition(as: DropoutDefinition.self) { return "dropout(keep \(dropout.keep))" }
            return layer.kindName
        }
        return "\(inputWidth) → " + parts.joined(separator: " → ") + " (\(head.rawValue))"
    }

    /// State-dict names and PyTorch shapes of every parameter and buffer, in ``Network/namedTensors()``
    /// order: what a checkpoint of this architecture holds. Products stay below 2^48 once the widths
    /// are within ``maximumWidth``, so nothing here overflows.
    public var tensorShapes: [(name: String, shape: [Int])] {
        stateEntries.map { ($0.name, $0.entry.shape) }
    }

    /// Throws unless `tensors` are exactly this architecture's state dict: every name present once,
    /// with its shape and type, and finite. Checked before a network is built from a file, so a file
    /// whose architecture and tensors disagree never gets to allocate for the architecture it claims.
    public func checkTensors(_ tensors: [NamedTensor], source: String, architecture: String) throws {
        var table = NamedTensorTable(tensors, source: source)
        for (name, entry) in stateEntries {
            if entry.role == .counter { _ = table.integer(name) } else { _ = table.floats(name, shape: entry.shape) }
        }
        try table.finish(expectedFrom: "this network (\(architecture))")
    }

    /// Whether dense layer `index` carries a bias: not when batch norm follows it.
    public func denseHasBias(at index: Int) -> Bool {
        guard layers.indices.contains(index), let dense = layers[index].definition(as: DenseDefinition.self) else { return false }
        return dense.hasBias(at: layerPositions[index])
    }

    /// Whether any layer behaves differently in training and evaluation.
    public var hasBatchNorm: Bool {
        layers.contains { $0.definition.usesBatchStatistics }
    }

    /// The layers PyTorch has no module for, as "index (kind)"; export needs this empty.
    public var layersWithoutPyTorchModule: [String] {
        zip(layers, layerPositions).compactMap { layer, position in
            layer.definition.pytorchModule(at: position) == nil ? "\(position.index) (\(layer.kindName))" : nil
        }
    }

    /// The equivalent PyTorch module, as Python source, whose `state_dict()` has exactly the names
    /// and shapes of ``Network/namedTensors()`` (so `load_state_dict(strict=True)` accepts a checkpoint);
    /// nil when a layer has no PyTorch module (``layersWithoutPyTorchModule`` names them).
    public var pytorchSource: String? {
        var lines: [String] = []
        for (layer, position) in zip(layers, layerPositions) {
            guard let line = layer.definition.pytorchModule(at: position) else { return nil }
            lines.append(line)
        }
        return "nn.Sequential(\n" + lines.map { "    \($0)," }.joined(separator: "\n") + "\n)"
    }
}
