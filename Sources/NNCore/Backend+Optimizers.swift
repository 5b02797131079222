/// Optimisers: one fused update per parameter tensor.
///
/// Implement the `unchecked…` hook; call ``Backend/update(_:learningRate:step:penalty:parameter:gradient:state:)`` instead.
public protocol OptimizerOps: AnyObject, Sendable {
    /// The rule's hyperparameters are valid and `state` holds exactly `rule.stateCount` tensors.
    func uncheckedUpdate(_ rule: UpdateRule, learningRate: Float, step: Int, penalty: WeightPenalty, parameter: Tensor, gradient: Tensor, state: [Tensor]) throws
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
}
