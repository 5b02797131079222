/// Optimisers: one fused update per parameter tensor.
///
/// Implement the `unchecked…` hook; call ``Backend/update(_:penalty:parameter:gradient:state:)`` instead.
public protocol OptimizerOps: AnyObject, Sendable {
    /// The rule's hyperparameters are valid and `state` holds exactly `rule.stateCount` tensors.
    func uncheckedUpdate(_ rule: UpdateRule, penalty: WeightPenalty, parameter: Tensor, gradient: Tensor, state: [Tensor]) throws
}

extension Backend {
    /// One fused update of `parameter` from `gradient`, the rule's state tensors, and a penalty.
    public func update(_ rule: UpdateRule, penalty: WeightPenalty, parameter: Tensor, gradient: Tensor, state: [Tensor]) throws {
        try OpCheck.update(rule, penalty: penalty, parameter: parameter, gradient: gradient, state: state, on: self)
        try uncheckedUpdate(rule, penalty: penalty, parameter: parameter, gradient: gradient, state: state)
    }
}
