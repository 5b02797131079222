/// Optimisers: one fused update per parameter tensor, or of several tensors at once.
///
/// Implement the `unchecked…` hooks; call ``Backend/update(_:learningRate:step:penalty:parameter:gradient:state:)``
/// or ``Backend/update(_:learningRate:step:_:)`` instead.
public protocol OptimizerOps: AnyObject, Sendable {
    /// The rule's hyperparameters are valid and `state` holds exactly `rule.stateCount` tensors.
    func uncheckedUpdate(_ rule: UpdateRule, learningRate: Float, step: Int, penalty: WeightPenalty, parameter: Tensor, gradient: Tensor, state: [Tensor]) throws
    /// Every update of `updates`, each validated as the single-tensor hook's operands. The default
    /// implementation runs that hook once per tensor; a backend overrides it to update several
    /// tensors in one launch (a network's parameters are a handful of tensors, updated every step).
    func uncheckedUpdate(_ rule: UpdateRule, learningRate: Float, step: Int, _ updates: [ParameterUpdate]) throws
}

/// One tensor's share of a multi-tensor optimiser update: the parameter, its gradient, the rule's
/// state tensors for it, and the penalty it takes (weights one, biases, γ and β none).
public struct ParameterUpdate: Sendable {
    public var parameter: Tensor
    public var gradient: Tensor
    public var state: [Tensor]
    public var penalty: WeightPenalty

    public init(parameter: Tensor, gradient: Tensor, state: [Tensor], penalty: WeightPenalty) {
        self.parameter = parameter
        self.gradient = gradient
        self.state = state
        self.penalty = penalty
    }
}

extension Backend {
    /// One fused update of `parameter` from `gradient`, the rule's state tensors, and a penalty, at
    /// `learningRate`; `step` (from 1) is the update's number, for Adam's bias correction.
    public func update(_ rule: UpdateRule, learningRate: Float, step: Int = 1, penalty: WeightPenalty, parameter: Tensor,
                       gradient: Tensor, state: [Tensor]) throws {
        try OpCheck.update(rule, learningRate: learningRate, step: step, penalty: penalty, parameter: parameter, gradient: gradient,
                           state: state, on: self)
        try uncheckedUpdate(rule, learningRate: learningRate, step: step, penalty: penalty, parameter: parameter, gradient: gradient,
                            state: state)
    }

    /// The same update of every tensor in `updates`, as one call: what an optimiser step does to a
    /// network's parameters. Each is validated as ``update(_:learningRate:step:penalty:parameter:gradient:state:)``
    /// validates its operands, all before any is updated; each result equals that single update's, bit for bit.
    public func update(_ rule: UpdateRule, learningRate: Float, step: Int = 1, _ updates: [ParameterUpdate]) throws {
        for u in updates {
            try OpCheck.update(rule, learningRate: learningRate, step: step, penalty: u.penalty, parameter: u.parameter,
                               gradient: u.gradient, state: u.state, on: self)
        }
        try uncheckedUpdate(rule, learningRate: learningRate, step: step, updates)
    }

    /// One single-tensor update after another.
    public func uncheckedUpdate(_ rule: UpdateRule, learningRate: Float, step: Int, _ updates: [ParameterUpdate]) throws {
        for u in updates {
            try uncheckedUpdate(rule, learningRate: learningRate, step: step, penalty: u.penalty, parameter: u.parameter,
                                gradient: u.gradient, state: u.state)
        }
    }
}
