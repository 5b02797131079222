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
                let (c1, c2) = Self.adamBiasCorrections(beta1, beta2, step: step)
                try launchElementwise(.updateAdam, .updateAdamV4, [.buffer(w), .buffer(g), .buffer(firstMoment), .buffer(secondMoment), .float(lr),
                                             .float(beta1), .float(beta2), .float(eps), .float(c1), .float(c2), l2, l1, .int(count)],
                               count: count)
            }
        }
    }

    /// Tensors one `update_v4_multi` launch updates (its fixed arity in `Kernels/optimizers.cl`).
    static let tensorsPerUpdateLaunch = 8

    /// In the GPU shapes every rule updates up to `tensorsPerUpdateLaunch` tensors per launch: a
    /// network's parameters are a handful of tensors, each a launch of its own otherwise, which at a few
    /// microseconds each is a visible share of a small batch's step. The CPU shapes, one tensor at a time.
    public func uncheckedUpdate(_ rule: UpdateRule, learningRate lr: Float, step: Int, _ updates: [ParameterUpdate]) throws {
        guard memoryKernels == .workGroup, updates.count > 1 else {
            for u in updates {
                try uncheckedUpdate(rule, learningRate: lr, step: step, penalty: u.penalty, parameter: u.parameter, gradient: u.gradient,
                                    state: u.state)
            }
            return
        }
        let op = "update"
        // The rule's number in update_v4_multi (UPDATE_RULE_*) and its scalars; unused ones are 0.
        let ruleNumber: Int, beta1: Float, beta2: Float, eps: Float, c1: Float, c2: Float
        switch rule {
        case .sgd: (ruleNumber, beta1, beta2, eps, c1, c2) = (0, 0, 0, 0, 0, 0)
        case let .momentum(beta): (ruleNumber, beta1, beta2, eps, c1, c2) = (1, beta, 0, 0, 0, 0)
        case let .rmsprop(beta, epsilon): (ruleNumber, beta1, beta2, eps, c1, c2) = (2, beta, 0, epsilon, 0, 0)
        case let .adam(b1, b2, epsilon):
            let (corrections1, corrections2) = Self.adamBiasCorrections(b1, b2, step: step)
            (ruleNumber, beta1, beta2, eps, c1, c2) = (3, b1, b2, epsilon, corrections1, corrections2)
        }
        try locked {
            for start in stride(from: 0, to: updates.count, by: Self.tensorsPerUpdateLaunch) {
                let chunk = updates[start..<min(start + Self.tensorsPerUpdateLaunch, updates.count)]
                // Per tensor (w, g, s, t, count, l2, l1), then the rule's number and six scalars. A slot
                // past the chunk repeats its first tensor with a count of 0, and state a rule lacks is the
                // parameter's own buffer: valid buffers the kernel never reads. 63 = 7 × tensorsPerUpdateLaunch
                // + 7 (an integer generic argument must be a literal).
                var arguments = InlineArray<63, KernelArgument>(repeating: .int(0))
                let scalars = 7 * Self.tensorsPerUpdateLaunch
                for k in 0..<Self.tensorsPerUpdateLaunch {
                    let u = chunk[chunk.startIndex + (k < chunk.count ? k : 0)]
                    let w = try mem(u.parameter, op)
                    let base = 7 * k
                    arguments[base] = .buffer(w)
                    arguments[base + 1] = .buffer(try mem(u.gradient, op))
                    arguments[base + 2] = .buffer(u.state.count > 0 ? try mem(u.state[0], op) : w)
                    arguments[base + 3] = .buffer(u.state.count > 1 ? try mem(u.state[1], op) : w)
                    arguments[base + 4] = .int(k < chunk.count ? u.parameter.count : 0)
                    arguments[base + 5] = .float(u.penalty.l2)
                    arguments[base + 6] = .float(u.penalty.l1)
                }
                (arguments[scalars], arguments[scalars + 1], arguments[scalars + 2]) = (.int(ruleNumber), .float(lr), .float(beta1))
                (arguments[scalars + 3], arguments[scalars + 4]) = (.float(beta2), .float(eps))
                (arguments[scalars + 5], arguments[scalars + 6]) = (.float(c1), .float(c2))
                // Sized as one tensor's launch is, for the largest of the chunk; one row of groups per tensor.
                let groups = gridStrideGroups(items: ((chunk.map(\.parameter.count).max() ?? 0) + 3) / 4)
                try launch(.updateV4Multi, arguments, global: (groups * Self.gpuGroupSize, chunk.count), local: (Self.gpuGroupSize, 1))
            }
        }
    }

    /// Adam's bias corrections 1 − βᵗ, in double on the host: βᵗ underflows gracefully and stays exact
    /// enough for large t, where a float pow per element would only repeat the same work.
    static func adamBiasCorrections(_ beta1: Float, _ beta2: Float, step: Int) -> (Float, Float) {
        (Float(1 - Foundation.pow(Double(beta1), Double(step))), Float(1 - Foundation.pow(Double(beta2), Double(step))))
    }
}
