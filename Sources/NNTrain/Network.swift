import NNCore
import NNDistributed

/// A sequential classifier whose parameters, gradients and buffers live on a backend.
///
/// The training/evaluation switch is explicit: set ``mode``. In `.training`, batch norm uses batch
/// statistics (and updates its running averages) and dropout draws masks; in `.evaluation`, batch
/// norm uses its running statistics, dropout is the identity, and each sample's output is
/// independent of the rest of its batch. ``evaluate(_:batchSize:)`` and the prediction methods
/// always run in evaluation mode and put ``mode`` back afterwards.
///
/// Not thread-safe: one network is driven by one task at a time.
public final class Network {
    /// Whether layers run as in training (batch statistics, dropout) or as in evaluation.
    public enum Mode: String, Sendable, Codable {
        case training
        case evaluation
    }

    public let spec: NetworkSpec
    public let backend: any Backend
    /// Input standardisation applied on the host before upload; part of the model. ``Trainer``
    /// fits it on the training set when it is nil.
    public var normalizer: InputNormalizer?
    /// The name of each class in output order, when the training labels were text; part of the
    /// model (saved as the checkpoint's `class_names`, checked there to be one distinct name per
    /// class), so predictions can name their class.
    public var classNames: [String]?
    public var mode: Mode = .training
    /// Key of the Philox stream that dropout masks are drawn from.
    public var dropoutSeed: UInt64
    /// Philox counter offset of the next dropout mask; advanced by every training-mode forward.
    public var dropoutOffset: UInt64 = 0

    /// The layers as built from ``spec``'s definitions, in order.
    public let layers: [any Layer]
    /// Every trainable parameter in layer order (dense weight, bias, γ, β, …).
    public let parameters: [Parameter]
    /// Whether each batch-norm layer directly followed by a ReLU runs it in its own pass
    /// (``LayerFusion``). On by default; off runs every layer by itself, which tests compare against.
    var fusesBatchNormReLU = true
    private let fusion: LayerFusion
    /// The batch-norm layers that run the ReLU after them while ``fusesBatchNormReLU`` is on.
    var fusedBatchNormIndices: [Int] { fusion.batchNormIndices }
    /// ``fusesBatchNormReLU`` as the last forward ran, which its backward must follow.
    private var lastForwardFused = false
    private var headBuffers = BatchBufferCache<HeadBuffers>()
    private var lastHead: HeadBuffers?
    /// 1×2 tensor [0, 1]: turns a sigmoid logit z into the pair (0, z), whose arg-max is the class.
    private let binarySelector: Tensor
    private let penaltyScratch: (squares: Tensor, absolutes: Tensor)
    /// Evaluation's input buffers and 1×1 accumulators, reused by every evaluation and prediction.
    var evaluationLoader: BatchLoader
    let evaluationScratch: (loss: Tensor, correct: Tensor)

    struct HeadBuffers {
        let gradient: Tensor
        let loss: Tensor
        let pairLogits: Tensor?
    }

    /// Builds the network with weights drawn from `seed` (He/Xavier normal, zero biases, γ = 1,
    /// β = 0, running mean 0 and variance 1). The same seed gives the same weights on every backend.
    public init(spec: NetworkSpec, backend: any Backend, seed: UInt64 = 0) throws {
        try spec.validate()
        self.spec = spec
        self.backend = backend
        // Dropout gets its own stream, decorrelated from the initialisation draws.
        self.dropoutSeed = seed ^ 0xD1B5_4A32_D192_ED03
        var generator = SeededGenerator(seed: seed)
        var layers: [any Layer] = []
        for (layer, position) in zip(spec.layers, spec.layerPositions) {
            let builder = LayerBuilder(backend: backend, index: position.index, generator: generator)
            let built = try layer.definition.makeLayer(at: position, builder: builder)
            try Self.checkBuiltState(built, declared: layer.definition.state(at: position), position: position, kind: layer.kindName)
            layers.append(built)
            generator = builder.generatorAfterDraws
        }
        self.layers = layers
        self.parameters = layers.flatMap(\.parameters)
        fusion = LayerFusion(layers: layers)
        binarySelector = try backend.makeTensor([0, 1] as [Float], shape: Shape(1, 2))
        penaltyScratch = (try backend.makeTensor(.scalar), try backend.makeTensor(.scalar))
        evaluationLoader = BatchLoader(backend: backend)
        evaluationScratch = (try backend.makeTensor(.scalar), try backend.makeTensor(.scalar))
    }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Width of the logits: `classes` for softmax, 1 for the sigmoid head.
    public var outputWidth: Int { spec.head.outputWidth(classes: spec.classes) }

    // MARK: Forward and backward

    /// Runs every layer on a batch of already normalised inputs (rows × inputWidth) and returns the
    /// logits. In training mode it saves what ``backward()`` needs and advances ``dropoutOffset``.
    public func forward(_ input: Tensor) throws -> Tensor {
        try forward(input, shard: BatchShard(globalCount: input.rows, rank: 0, size: 1))
    }

    /// Forward on one rank's `shard` of a global batch: dropout draws by global sample index, and
    /// with `batchStatistics` batch norm normalises with the whole global batch's statistics.
    func forward(_ input: Tensor, shard: BatchShard, batchStatistics: (any Communicator)? = nil) throws -> Tensor {
        guard input.rows == shard.count else {
            throw NNError.shapeMismatch(op: "network forward", detail: "\(input.rows) rows for a shard of \(shard.count)")
        }
        guard input.columns == spec.inputWidth else {
            throw NNError.shapeMismatch(
                op: "network forward",
                detail: "layer 0 (\(spec.layers.first?.kindName ?? "input")) expects \(spec.inputWidth) input features per sample but got \(input.columns)")
        }
        let context = ForwardContext(training: mode == .training, dropoutSeed: dropoutSeed, dropoutOffset: dropoutOffset,
                                     shard: shard, batchStatistics: batchStatistics)
        var x = input
        lastForwardFused = fusesBatchNormReLU
        var index = 0
        while index < layers.count {
            if lastForwardFused, let batchNorm = fusion.batchNormFusingReLU(at: index) {
                x = try batchNorm.forward(x, context: context, relu: true)
                index += 2
            } else {
                x = try layers[index].forward(x, context: context)
                index += 1
            }
        }
        dropoutOffset = context.dropoutOffset
        return x
    }

    /// Computes the head's loss (1×1, on the device; mean over the batch) and keeps dL/dlogits for
    /// ``backward()``. Labels are a rows×1 tensor of class indices stored as Float.
    @discardableResult
    public func loss(logits: Tensor, labels: Tensor) throws -> Tensor {
        let head = try headBuffers(rows: logits.rows)
        switch spec.head {
        case .softmax:
            try backend.softmaxCrossEntropy(logits, labels: labels, gradient: head.gradient, loss: head.loss)
        case .sigmoid:
            try backend.sigmoidCrossEntropy(logits, labels: labels, gradient: head.gradient, loss: head.loss)
        }
        lastHead = head
        return head.loss
    }

    /// Back-propagates the gradient of the last ``loss(logits:labels:)`` through every layer, filling
    /// each parameter's `gradient`. Needs a training-mode forward on the same batch.
    public func backward() throws {
        try backward(onLayerDone: nil)
    }

    /// Backward that calls `onLayerDone` with each layer's parameters as soon as their gradients
    /// are final (last layer first), so their allreduce can start while backward goes on.
    func backward(onLayerDone: (([Parameter]) throws -> Void)?) throws {
        guard mode == .training, let head = lastHead else {
            throw NNError.invalidArgument(
                op: "network backward",
                detail: "needs a training-mode forward and loss first (mode is \(mode.rawValue))")
        }
        var gradient = head.gradient
        for (i, layer) in layers.enumerated().reversed() {
            // A fused ReLU's backward is part of the batch norm's before it.
            if lastForwardFused && fusion.isAbsorbed(i) { continue }
            let next = try layer.backward(gradient, needsInputGradient: i > 0)
            if let onLayerDone, !layer.parameters.isEmpty { try onLayerDone(layer.parameters) }
            guard let next else { break }
            gradient = next
        }
    }

    /// ``loss(logits:labels:)`` (which keeps dL/dlogits for ``backward()``), added to a pass's totals
    /// on the device: `lossSum` += rows · loss and `correct` += the rows classified correctly, both
    /// 1×1. A softmax head does all three in the backend's one fused op.
    func addLoss(logits: Tensor, labels: Tensor, toLossSum lossSum: Tensor, correct: Tensor) throws {
        guard spec.head == .softmax else {
            let loss = try loss(logits: logits, labels: labels)
            try backend.axpy(alpha: Float(logits.rows), loss, lossSum)
            try accumulateCorrect(logits: logits, labels: labels, into: correct)
            return
        }
        let head = try headBuffers(rows: logits.rows)
        try backend.softmaxCrossEntropy(logits, labels: labels, gradient: head.gradient, loss: head.loss, lossSum: lossSum,
                                        correctCount: correct)
        lastHead = head
    }

    /// Adds the number of correctly classified rows of `logits` to the 1×1 `accumulator`, on the device.
    func accumulateCorrect(logits: Tensor, labels: Tensor, into accumulator: Tensor) throws {
        let head = try headBuffers(rows: logits.rows)
        var scores = logits
        if let pair = head.pairLogits {
            // Sigmoid head: class 1 exactly when z > 0 (σ(z) > 0.5); arg-max of (0, z) picks that.
            try backend.gemm(logits, transposeA: false, binarySelector, transposeB: false, into: pair, alpha: 1, beta: 0)
            scores = pair
        }
        try backend.accumulateArgmaxMatches(scores, labels: labels, into: accumulator)
    }

    private func headBuffers(rows: Int) throws -> HeadBuffers {
        let width = outputWidth
        let sigmoid = spec.head == .sigmoid
        return try headBuffers.buffers(rows: rows) {
            HeadBuffers(
                gradient: try backend.makeTensor(Shape(rows, width)),
                loss: try backend.makeTensor(.scalar),
                pairLogits: sigmoid ? try backend.makeTensor(Shape(rows, 2)) : nil)
        }
    }

    // MARK: Penalties

    /// The penalty λ₂/(2m)·Σ‖W‖² + λ₁/m·Σ|w| over dense weights, computed on the device and written to
    /// (or, with `accumulate`, added to) the 1×1 `out`.
    public func penalty(_ regularization: Regularization, sampleCount m: Int, into out: Tensor, accumulate: Bool = false) throws {
        guard m >= 1 else {
            throw NNError.invalidArgument(op: "penalty", detail: "sample count \(m) must be at least 1")
        }
        if !accumulate { try backend.fill(out, with: 0) }
        guard regularization.isActive else { return }
        let weights = parameters.filter(\.isPenalized)
        try backend.fill(penaltyScratch.squares, with: 0)
        try backend.fill(penaltyScratch.absolutes, with: 0)
        for w in weights {
            if regularization.l2 > 0 { try backend.reduce(.sumOfSquares, w.value, into: penaltyScratch.squares, accumulate: true) }
            if regularization.l1 > 0 { try backend.reduce(.sumOfAbsolute, w.value, into: penaltyScratch.absolutes, accumulate: true) }
        }
        let p = regularization.weightPenalty(sampleCount: m)
        try backend.axpy(alpha: p.l2 / 2, penaltyScratch.squares, out)
        try backend.axpy(alpha: p.l1, penaltyScratch.absolutes, out)
    }

    // MARK: State dict

    /// Every parameter and buffer under PyTorch `nn.Sequential` state-dict names and layouts
    /// (`i.weight` out × in, `i.bias`, `i.running_mean`, `i.running_var`, `i.num_batches_tracked`),
    /// in layer order. `torch.nn.Sequential` built from ``NetworkSpec/pytorchSource`` loads them with
    /// `strict=True`.
    public func namedTensors() throws -> [NamedTensor] {
        try layers.flatMap { layer in
            try layer.parameters.map { .float32($0.name, shape: $0.exportShape, values: try backend.download($0.value)) }
                + layer.buffers.map { .float32($0.name, shape: $0.exportShape, values: try backend.download($0.tensor)) }
                + layer.counters.map { .int64($0.name, shape: [], integers: [$0.value]) }
        }
    }

    /// Replaces parameters and buffers from `namedTensors` (e.g. read from a checkpoint or exported
    /// from PyTorch).
    ///
    /// - Throws: `NNError.invalidData(source:detail:)` listing every missing, unexpected, duplicate
    ///   or misshapen tensor, or naming a negative variance; in that case nothing is changed.
    public func load(namedTensors: [NamedTensor], source: String = "state dict") throws {
        // Validate everything before touching the device, so a bad file changes nothing.
        try spec.checkTensors(namedTensors, source: source, architecture: describeArchitecture())
        var table = NamedTensorTable(namedTensors, source: source)
        var uploads: [(values: [Float], tensor: Tensor)] = []
        var counts: [(counter: LayerCounter, value: Int64)] = []
        for layer in layers {
            for p in layer.parameters {
                if let values = table.floats(p.name, shape: p.exportShape) { uploads.append((values, p.value)) }
            }
            for b in layer.buffers {
                guard let values = table.floats(b.name, shape: b.exportShape) else { continue }
                if b.isNonNegative, let bad = values.firstIndex(where: { !($0 >= 0) }) {
                    throw NNError.invalidData(source: b.name, detail: "variance \(values[bad]) of feature \(bad) is negative or NaN")
                }
                uploads.append((values, b.tensor))
            }
            for c in layer.counters {
                if let value = table.integer(c.name) { counts.append((c, value)) }
            }
        }
        try table.finish(expectedFrom: "this network")
        for (values, tensor) in uploads { try backend.upload(values, to: tensor) }
        for (counter, value) in counts { counter.value = value }
    }

    /// Names and PyTorch shapes of ``namedTensors()``, without touching the device.
    public func expectedTensorShapes() -> [(name: String, shape: [Int])] { spec.tensorShapes }

    /// "64 → dense 32 → batchnorm → relu → dense 10 (softmax)" (``NetworkSpec/architectureDescription``).
    public func describeArchitecture() -> String { spec.architectureDescription }

    // MARK: Snapshots (early stopping, resume)

    /// Device tensors that together with ``counterValues`` make up the model's state: every
    /// parameter value and every buffer (running statistic), in a fixed order.
    var stateTensors: [Tensor] {
        layers.flatMap { layer in layer.parameters.map(\.value) + layer.buffers.map(\.tensor) }
    }

    /// Every layer's buffers (batch norm's running mean and variance).
    var runningStatistics: [Tensor] {
        layers.flatMap { $0.buffers.map(\.tensor) }
    }

    /// Every layer's counters (batch norm's `num_batches_tracked`), in layer order.
    var counterValues: [Int64] {
        get { layers.flatMap { $0.counters.map(\.value) } }
        set {
            for (counter, value) in zip(layers.flatMap(\.counters), newValue) { counter.value = value }
        }
    }

    /// Refuses a layer whose tensors are not the ones its definition declares, which would make its
    /// checkpoints unreadable: a mistake in a user's layer, named before anything trains.
    private static func checkBuiltState(_ layer: any Layer, declared: [LayerStateEntry], position: LayerPosition, kind: String) throws {
        let built = layer.parameters.map { ($0.name, $0.exportShape, "parameter") }
            + layer.buffers.map { ($0.name, $0.exportShape, "buffer") }
            + layer.counters.map { ($0.name, [Int](), "counter") }
        let expected = declared.map { entry -> (String, [Int], String) in
            let role: String
            switch entry.role {
            case .parameter: role = "parameter"
            case .buffer: role = "buffer"
            case .counter: role = "counter"
            }
            return ("\(position.index).\(entry.name)", entry.role == .counter ? [] : entry.shape, role)
        }
        func describe(_ items: [(String, [Int], String)]) -> String {
            items.isEmpty ? "none" : items.map { "\($0.2) \($0.0) \($0.1)" }.joined(separator: ", ")
        }
        let matches = built.count == expected.count && zip(built, expected).allSatisfy {
            $0.0 == $1.0 && $0.1 == $1.1 && $0.2 == $1.2
        }
        guard matches else {
            throw NNError.invalidArgument(
                op: "layer \(position.index) (\(kind))",
                detail: "built \(describe(built)) but its definition declares \(describe(expected)); "
                    + "make the layer's parameters, buffers and counters match its definition's state(at:), in order")
        }
    }
}
