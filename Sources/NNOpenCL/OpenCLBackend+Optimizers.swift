import Foundation
import NNCore

/// One fused kernel per update rule in `Kernels/optimizers.cl`, in the backend's shape (``MemoryKernelFamily``).
extension OpenCLBackend {
    public func uncheckedUpdate(_ rule: UpdateRule, learningRate lr: Float, step: Int, penalty: WeightPenalty, parameter: Tensor,
                                gradient: Tensor, state: [Tensor]) throws {
        let op = "update"
        let w = try mem(parameter, op), g = try mem(gradient, op)
        let count = parameter.count
        let l2 = KernelArgument.float(penalty.l2), l1 = KernelArgument.float(penalty.l1)
        // State buffers are fetched per rule (OpCheck.update has checked their count), not mapped into
        // an array: an optimizer step runs once per parameter per batch and should not allocate.
        try locked {
            switch rule {
            case .sgd:
                try launchElementwise(.updateSGD, .updateSGDV4, [.buffer(w), .buffer(g), .float(lr), l2, l1, .int(count)], count: count)
            case let .momentum(beta):
                let velocity = try mem(state[0], op)
                try launchElementwise(.updateMomentum, .updateMomentumV4, [.buffer(w), .buffer(g), .buffer(velocity), .float(lr), .float(beta), l2, l1,
                                                 .int(count)], count: count)
            case let .rmsprop(beta, eps):
                let meanSquare = try mem(state[0], op)
                try launchElementwise(.updateRMSprop, .updateRMSpropV4, [.buffer(w), .buffer(g), .buffer(meanSquare), .float(lr), .float(beta), .float(eps),
                                                l2, l1, .int(count)], count: count)
            case let .adam(beta1, beta2, eps):
                let (firstMoment, secondMoment) = (try mem(state[0], op), try mem(state[1], op))
                // Bias corrections 1 − βᵗ in double on the host: βᵗ underflows gracefully and stays exact
                // enough for large t, where a float pow per element would only repeat the same work.
                let c1 = Float(1 - Foundation.pow(Double(beta1), Double(step)))
                let c2 = Float(1 - Foundation.pow(Double(beta2), Double(step)))
                try launchElementwise(.updateAdam, .updateAdamV4, [.buffer(w), .buffer(g), .buffer(firstMoment), .buffer(secondMoment), .float(lr),
                                             .float(beta1), .float(beta2), .float(eps), .float(c1), .float(c2), l2, l1, .int(count)],
                               count: count)
            }
        }
    }
}
