import NNCore

/// The built-in optimiser rules: NNCore's `UpdateRule`, the one type from `--optimizer` to the
/// backends' fused kernels. The name stays for code written before the two types were merged.
public typealias OptimizerKind = UpdateRule

/// How one parameter tensor moves, given its gradient and the rule's own state tensors.
///
/// The built-in rules (`UpdateRule`) run fused kernels on every backend, a step's tensors all in one
/// `Backend.update` call. A rule of your own composes the backend's ops (`Backend.axpy(alpha:_:_:)`,
/// `Backend.scale(_:by:)`, …) and trains on every backend without a kernel; pass it to
/// ``Trainer/init(network:config:parallel:rule:)``.
public protocol OptimizerRule: Sendable {
    /// The name checkpoints record, so a run resumes only with the rule its state tensors belong to.
    var name: String { get }
    /// Names of the per-parameter state tensors ("m", "v"), each shaped like its parameter and zero at start.
    var stateNames: [String] { get }
    /// Throws `NNError.invalidArgument(op:detail:)` for a hyperparameter out of range.
    func validate() throws
    /// One update of `parameter` from its gradient (which it may overwrite). `step` counts updates
    /// from 1; `penalty` is the weight decay to fold in (`WeightPenalty.none` for biases, γ and β).
    func update(_ parameter: Parameter, state: [Tensor], learningRate: Float, step: Int, penalty: WeightPenalty,
                backend: any Backend) throws
}

extension UpdateRule: OptimizerRule {
    /// One update by the backend's fused kernel.
    public func update(_ parameter: Parameter, state: [Tensor], learningRate: Float, step: Int, penalty: WeightPenalty,
                       backend: any Backend) throws {
        try backend.update(self, learningRate: learningRate, step: step, penalty: penalty,
                           parameter: parameter.value, gradient: parameter.gradient, state: state)
    }
}

/// Applies one ``OptimizerRule`` to a network's parameters, keeping the rule's state tensors
/// (velocity, squared-gradient averages) on the device.
public final class Optimizer {
    public let rule: any OptimizerRule
    public let backend: any Backend
    let parameters: [Parameter]
    /// Per parameter, the rule's state tensors (zeros at start).
    let state: [[Tensor]]
    /// Updates applied so far; Adam's bias correction uses `step + 1` for the next one.
    public internal(set) var step: Int = 0

    public init(rule: any OptimizerRule, parameters: [Parameter], backend: any Backend) throws {
        try rule.validate()
        self.rule = rule
        self.backend = backend
        self.parameters = parameters
        state = try parameters.map { p in try rule.stateNames.map { _ in try backend.makeTensor(p.value.shape) } }
    }

    /// An optimiser with a built-in rule.
    public convenience init(kind: OptimizerKind, parameters: [Parameter], backend: any Backend) throws {
        try self.init(rule: kind, parameters: parameters, backend: backend)
    }

    /// One update of every parameter from its gradient; weights get `penalty`, the rest none.
    public func apply(learningRate: Float, penalty: WeightPenalty) throws {
        guard learningRate >= 0, learningRate.isFinite else {
            throw NNError.invalidArgument(op: "optimizer", detail: "learning rate \(learningRate) must be finite and ≥ 0")
        }
        if let builtIn = rule as? UpdateRule {
            // One call for every tensor, which a backend may run as a few launches instead of one per tensor.
            let updates = zip(parameters, state).map { p, s in
                ParameterUpdate(parameter: p.value, gradient: p.gradient, state: s, penalty: p.isPenalized ? penalty : .none)
            }
            try backend.update(builtIn, learningRate: learningRate, step: step + 1, updates)
        } else {
            for (p, s) in zip(parameters, state) {
                try rule.update(p, state: s, learningRate: learningRate, step: step + 1, penalty: p.isPenalized ? penalty : .none,
                                backend: backend)
            }
        }
        step += 1
    }

    /// State tensors named "optimizer.<parameter>.<m|v|s>" (shapes as the parameters export them).
    public func namedState() throws -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (p, tensors) in zip(parameters, state) {
            for (stateName, t) in zip(rule.stateNames, tensors) {
                out.append(.float32("optimizer.\(p.name).\(stateName)", shape: p.exportShape, values: try backend.download(t)))
            }
        }
        return out
    }

    func expectedStateShapes() -> [(name: String, shape: [Int])] {
        parameters.flatMap { p in rule.stateNames.map { ("optimizer.\(p.name).\($0)", p.exportShape) } }
    }

    func load(_ table: inout NamedTensorTable) throws {
        for (p, tensors) in zip(parameters, state) {
            for (stateName, t) in zip(rule.stateNames, tensors) {
                if let v = table.floats("optimizer.\(p.name).\(stateName)", shape: p.exportShape) {
                    try backend.upload(v, to: t)
                }
            }
        }
    }
}
