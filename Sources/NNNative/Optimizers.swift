import Foundation
import NNCore

/// One fused pass per parameter tensor for each update rule: gradient, penalty, state and
/// parameter are each read once and written once.
extension NativeBackend {
    public func uncheckedUpdate(_ rule: UpdateRule, learningRate: Float, step: Int, penalty: WeightPenalty, parameter: Tensor,
                                gradient: Tensor, state: [Tensor]) throws {
        switch precision {
        case .float32: try update(Float.self, rule, learningRate, step, penalty, parameter, gradient, state)
        case .float64: try update(Double.self, rule, learningRate, step, penalty, parameter, gradient, state)
        }
    }

    private func update<T: NativeScalar>(_: T.Type, _ rule: UpdateRule, _ lr: Float, _ step: Int, _ penalty: WeightPenalty,
                                         _ parameter: Tensor, _ gradient: Tensor, _ state: [Tensor]) throws {
        let op = "update"
        let wp = SendablePointer(try pointer(parameter, T.self, op))
        let gp = SendablePointer(try pointer(gradient, T.self, op))
        let sp = try state.map { SendablePointer(try pointer($0, T.self, op)) }
        let l2 = T(penalty.l2), l1 = T(penalty.l1)
        let count = parameter.count

        /// g + l2·w + l1·sign(w), with sign(0) = 0.
        @inline(__always) func penalised(_ i: Int) -> T {
            let w = wp.p[i]
            let sign: T = w > 0 ? 1 : (w < 0 ? -1 : 0)
            return gp.p[i] + l2 * w + l1 * sign
        }

        switch rule {
        case .sgd:
            let a = T(lr)
            splitter.forEachRange(count, costPerItem: 4) { r in
                for i in r { wp.p[i] -= a * penalised(i) }
            }
        case let .momentum(beta):
            let a = T(lr), b = T(beta), oneMinus = 1 - T(beta)
            let v = sp[0]
            splitter.forEachRange(count, costPerItem: 4) { r in
                for i in r {
                    let vi = b * v.p[i] + oneMinus * penalised(i)
                    v.p[i] = vi
                    wp.p[i] -= a * vi
                }
            }
        case let .rmsprop(beta, epsilon):
            let a = T(lr), b = T(beta), oneMinus = 1 - T(beta), eps = T(epsilon)
            let s = sp[0]
            splitter.forEachRange(count, costPerItem: 8) { r in
                for i in r {
                    let g = penalised(i)
                    let si = b * s.p[i] + oneMinus * g * g
                    s.p[i] = si
                    wp.p[i] -= a * g / (si.squareRoot() + eps)
                }
            }
        case let .adam(beta1, beta2, epsilon):
            let b1 = T(beta1), b2 = T(beta2), eps = T(epsilon), a = T(lr)
            // Bias corrections in Double: 1 − β₂ᵗ for β₂ = 0.999 and small t loses digits in Float powers.
            let c1 = T(1 / (1 - pow(Double(beta1), Double(step))))
            let c2 = T(1 / (1 - pow(Double(beta2), Double(step))))
            let mState = sp[0], vState = sp[1]
            let vectorised = VectorKernels.applies(kernels, T.self)
            splitter.forEachRange(count, costPerItem: 8) { r in
                if vectorised {
                    VectorKernels.adam(r, w: wp.p, g: gp.p, m: mState.p, v: vState.p, l2: l2, l1: l1, beta1: b1, beta2: b2,
                                       epsilon: eps, lr: a, correction1: c1, correction2: c2)
                    return
                }
                for i in r {
                    let g = penalised(i)
                    let mi = b1 * mState.p[i] + (1 - b1) * g
                    let vi = b2 * vState.p[i] + (1 - b2) * g * g
                    mState.p[i] = mi
                    vState.p[i] = vi
                    wp.p[i] -= a * (mi * c1) / ((vi * c2).squareRoot() + eps)
                }
            }
        }
    }
}
