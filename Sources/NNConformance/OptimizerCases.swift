import Foundation
import NNCore

/// Every update rule, with and without L2/L1 penalties, over several steps, against Float64.
enum OptimizerCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(.optimizers, "everyRuleWithAndWithoutPenalties", everyRuleWithAndWithoutPenalties),
        ConformanceCase(.optimizers, "zeroLearningRateLeavesParameter", zeroLearningRateLeavesParameter),
        ConformanceCase(.optimizers, "manyTensorsAtOnceMatchOneAtATime", manyTensorsAtOnceMatchOneAtATime),
    ]

    private static let steps = 5

    /// The case's rule and learning rate.
    private static func rule(_ kind: String) -> (rule: UpdateRule, learningRate: Float) {
        switch kind {
        case "sgd": return (.sgd, 0.05)
        case "momentum": return (.momentum(beta: 0.9), 0.05)
        case "rmsprop": return (.rmsprop(beta: 0.9, epsilon: 1e-8), 0.01)
        default: return (.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), 0.01)
        }
    }

    /// Relative error of one step's update Δ, in units of u: the rounding chain of each rule (with the
    /// penalty's two roundings folded into the gradient), plus the drift of the state, which
    /// accumulates a few roundings per step. Adam's bias corrections 1 − βᵗ are formed in float and
    /// lose relative accuracy by βᵗ/(1 − βᵗ) (≈ 1000 for β₂ = 0.999 at t = 1); √ halves β₂'s share.
    private static func updateRelativeError(_ rule: UpdateRule, step t: Int) -> Double {
        let td = Double(t)
        switch rule {
        case .sgd: return 4
        case .momentum: return 3 * td + 4
        case .rmsprop: return 2 * td + 10
        case let .adam(b1, b2, _):
            let p1 = pow(Double(b1), td), p2 = pow(Double(b2), td)
            return 3 * td + 14 + (td + 2) * (p1 / (1 - p1) + 0.5 * p2 / (1 - p2))
        }
    }

    static func everyRuleWithAndWithoutPenalties(_ b: ConformanceContext) throws {
        let penalties: [(String, WeightPenalty)] = [
            ("none", .none), ("L2", WeightPenalty(l2: 0.1)), ("L1", WeightPenalty(l1: 0.05)),
            ("L2+L1", WeightPenalty(l2: 0.1, l1: 0.05)),
        ]
        for kind in ["sgd", "momentum", "rmsprop", "adam"] {
            for (penaltyName, penalty) in penalties {
                for shape in [Shape(1, 1), Shape(7, 13)] {
                    try run(kind, penalty: penalty, named: penaltyName, shape: shape, on: b)
                }
            }
        }
    }

    private static func run(_ kind: String, penalty: WeightPenalty, named penaltyName: String, shape: Shape,
                     on b: ConformanceContext) throws {
        var rng = TestRandom(seed: 161 + UInt64(shape.count))
        // |w| ≥ 0.5 and steps ≤ 0.05·|g|: no weight crosses zero in five steps, so sign(w) in the L1
        // term is the same for backend and reference.
        var w = rng.signed(shape.count, magnitude: 0.5, 1.5)
        let stateCount = rule(kind).rule.stateCount
        var state = [[Double]](repeating: [Double](repeating: 0, count: shape.count), count: stateCount)
        let tw = try b.tensor(shape.rows, shape.columns, w)
        let tState = try (0..<stateCount).map { _ in try b.backend.makeTensor(shape) }
        var maxW = maxAbs(w), maxDelta = 0.0, maxStateScale = 0.0
        for t in 1...steps {
            let g = rng.normal(shape.count, sd: 0.5)
            let (r, lr) = rule(kind)
            let penalized = (0..<shape.count).map { Reference.penalized(g[$0], w[$0], penalty) }
            let delta = Reference.update(r, learningRate: lr, step: t, penalty: penalty, w: &w, g: g, state: &state)
            try b.backend.update(r, learningRate: lr, step: t, penalty: penalty, parameter: tw, gradient: try b.tensor(shape.rows, shape.columns, g),
                                 state: tState)

            maxW = max(maxW, maxAbs(w))
            maxDelta = max(maxDelta, maxAbs(delta))
            maxStateScale = max(maxStateScale, state.map(maxAbs).max() ?? 0,
                                kind == "sgd" || kind == "momentum" || kind == "adam" ? maxAbs(penalized) : 0,
                                kind == "rmsprop" || kind == "adam" ? maxAbs(penalized.map { $0 * $0 }) : 0)
            let td = Double(t)
            let what = "update \(kind) penalty \(penaltyName) \(shape) after step \(t)"
            // w accumulates, per step, one rounding of w − Δ and Δ's relative error; earlier errors carry over.
            let wAtol = td * (2 * b.u * maxW + updateRelativeError(r, step: t) * b.u * maxDelta)
            assertClose(try b.values(tw), w, Tolerance(atol: wAtol), what + ": parameter", on: b)
            // A state s ← β·s + (1 − β)·x takes ~4 roundings per step on magnitudes up to the state and
            // its input x; β < 1 damps older errors, so they add up at most linearly in t.
            for (index, s) in state.enumerated() {
                assertClose(try b.values(tState[index]), s, Tolerance(atol: 4 * td * b.u * maxStateScale),
                            what + ": state \(index)", on: b)
            }
        }
    }

    /// A zero learning rate leaves the parameter untouched (but still advances the state).
    static func zeroLearningRateLeavesParameter(_ b: ConformanceContext) throws {
        var rng = TestRandom(seed: 171)
        let w = rng.normal(91)
        let tw = try b.tensor(7, 13, w)
        let state = [try b.backend.makeTensor(Shape(7, 13))]
        try b.backend.update(.momentum(beta: 0.9), learningRate: 0, penalty: WeightPenalty(l2: 0.1), parameter: tw,
                             gradient: try b.tensor(7, 13, rng.normal(91)), state: state)
        assertClose(try b.values(tw), w, .exact, "update momentum with learning rate 0", on: b)
        b.expectNotEqual(try b.values(state[0]), [Double](repeating: 0, count: 91), "[\(b.label)] momentum state advanced")
    }

    /// ``Backend/update(_:learningRate:step:_:)`` on ten tensors (sizes that fill no, one and several
    /// float4 vectors and work-groups, penalised or not) against the single-tensor update of each, for
    /// every rule over three steps: bit for bit, as a backend that batches launches must keep. Ten are
    /// more than one launch takes in the OpenCL GPU shape (8), so a full launch and a partial one both run.
    static func manyTensorsAtOnceMatchOneAtATime(_ b: ConformanceContext) throws {
        let shapes = [Shape(1, 1), Shape(1, 3), Shape(2, 2), Shape(1, 7), Shape(10, 100), Shape(1, 4099),
                      Shape(3, 5), Shape(64, 65), Shape(1, 2), Shape(33, 31)]
        let penalty = WeightPenalty(l2: 1e-3, l1: 1e-4)
        for kind in ["sgd", "momentum", "rmsprop", "adam"] {
            let (rule, lr) = rule(kind)
            var rng = TestRandom(seed: 401)
            var single: [ParameterUpdate] = [], batched: [ParameterUpdate] = []
            for (index, shape) in shapes.enumerated() {
                let (w, g) = (rng.normal(shape.count), rng.normal(shape.count))
                for copies in 0..<2 {
                    let update = ParameterUpdate(
                        parameter: try b.tensor(shape.rows, shape.columns, w), gradient: try b.tensor(shape.rows, shape.columns, g),
                        state: try (0..<rule.stateCount).map { _ in try b.backend.makeTensor(shape) },
                        penalty: index.isMultiple(of: 2) ? penalty : .none)
                    if copies == 0 { single.append(update) } else { batched.append(update) }
                }
            }
            for step in 1...3 {
                for u in single {
                    try b.backend.update(rule, learningRate: lr, step: step, penalty: u.penalty, parameter: u.parameter,
                                         gradient: u.gradient, state: u.state)
                }
                try b.backend.update(rule, learningRate: lr, step: step, batched)
            }
            for (index, (one, many)) in zip(single, batched).enumerated() {
                for (t1, t2) in zip([one.parameter] + one.state, [many.parameter] + many.state) {
                    assertClose(try b.values(t2), try b.values(t1), .exact, "\(kind), tensor \(index) (\(t1.shape)) updated with the others",
                                on: b)
                }
            }
        }
    }
}
