import NNCore

/// Gradient checking: back-propagated gradients against two-sided differences
/// (J(θ + ε) − J(θ − ε)) / 2ε with ε = 1e-7, in Float64, over every parameter.
///
/// The cost J includes the weight penalties, and the analytic gradient of a penalised weight is
/// taken from the optimiser's own fused update (an SGD step with α = 1 moves W by exactly
/// g + (λ₂/m)·W + (λ₁/m)·sign(W)), so the check covers the code path training uses. Dropout is
/// switched off (keep = 1) because a random mask makes J non-deterministic; batch norm runs in
/// training mode.
public enum GradientCheck {
    /// The agreement for one layer's parameters.
    public struct LayerReport: Sendable, Codable, Equatable {
        /// Index of the layer in the network.
        public var layer: Int
        /// "dense", "batchnorm".
        public var kind: String
        /// State-dict names of the parameters checked ("0.weight", "0.bias").
        public var parameters: [String]
        public var parameterCount: Int
        /// ‖g − g̃‖₂ / (‖g‖₂ + ‖g̃‖₂) over the layer's parameters.
        public var relativeError: Double
        public var maxAbsoluteDifference: Double
    }

    public static let epsilon = 1e-7
    /// Relative error below which gradients count as correct.
    public static let threshold = 1e-7

    /// A small network with every layer type: dense with and without bias, batch norm, all three
    /// activations, dropout, and a softmax head.
    public static func standardSpec(inputWidth: Int = 5, classes: Int = 3) throws -> NetworkSpec {
        try NetworkSpec(inputWidth: inputWidth, layers: [
            .dense(units: 6, initializer: .he), .batchNorm, .activation(.relu), .dropout(keep: 0.8),
            .dense(units: 5, initializer: .xavier), .activation(.tanh),
            .dense(units: 4, initializer: .xavier), .activation(.sigmoid),
            .dense(units: classes, initializer: .xavier),
        ], classes: classes)
    }

    /// Checks every parameter of a network built from `spec` on a random batch of `samples` rows.
    ///
    /// - Parameters:
    ///   - spec: the network to check; ``standardSpec(inputWidth:classes:)`` has every layer type.
    ///   - regularization: penalties whose gradients are checked too.
    ///   - backend: must compute in Float64 (`NativeBackend(precision: .float64)`): in
    ///     Float32 the rounding error of J, about 1e-7·|J|, swamps differences taken with ε = 1e-7.
    ///   - samples: rows in the random batch (at least 2, for batch norm).
    ///   - seed: seeds the weights, the batch and the dropout masks.
    /// - Throws: `NNError.invalidArgument(op:detail:)` for a Float32 backend or fewer than 2 samples.
    public static func run(spec: NetworkSpec, regularization: Regularization = .none, backend: any Backend,
                           samples: Int = 8, seed: UInt64 = 7) throws -> [LayerReport] {
        guard backend.precision == .float64 else {
            throw NNError.invalidArgument(
                op: "gradient check",
                detail: "the \(backend.name) backend computes in \(backend.precision.rawValue); use NativeBackend(precision: .float64)")
        }
        guard samples >= 2 else {
            throw NNError.invalidArgument(op: "gradient check", detail: "\(samples) sample(s); batch norm needs at least 2")
        }
        var checked = spec
        checked.layers = spec.layers.map { $0.definition.forGradientCheck.spec }
        try regularization.validate()
        let network = try Network(spec: checked, backend: backend, seed: seed)
        network.mode = .training

        var generator = SeededGenerator(seed: seed &+ 1)
        let inputs = try backend.makeTensor((0..<samples * spec.inputWidth).map { _ in generator.nextGaussian() },
                                            shape: Shape(samples, spec.inputWidth))
        let labelValues = (0..<samples).map { i -> Double in
            // Every class appears when there are enough rows, so no output is unconstrained.
            Double(i < spec.classes ? i : generator.nextIndex(below: spec.classes))
        }
        let labels = try backend.makeTensor(labelValues, shape: Shape(samples, 1))
        let penalty = try backend.makeTensor(.scalar)

        func cost() throws -> Double {
            let logits = try network.forward(inputs)
            let loss = try network.loss(logits: logits, labels: labels)
            try network.penalty(regularization, sampleCount: samples, into: penalty)
            return try backend.downloadDouble(loss)[0] + backend.downloadDouble(penalty)[0]
        }

        _ = try cost()
        try network.backward()
        let weightPenalty = regularization.weightPenalty(sampleCount: samples)
        var analytic: [[Double]] = []
        for p in network.parameters {
            if p.isPenalized, regularization.isActive {
                let moved = try backend.makeTensor(p.value.shape)
                try backend.copy(p.value, to: moved)
                try backend.update(.sgd, learningRate: 1, penalty: weightPenalty, parameter: moved, gradient: p.gradient, state: [])
                let before = try backend.downloadDouble(p.value), after = try backend.downloadDouble(moved)
                analytic.append(zip(before, after).map { $0 - $1 })
            } else {
                analytic.append(try backend.downloadDouble(p.gradient))
            }
        }

        var numeric: [[Double]] = []
        for p in network.parameters {
            var values = try backend.downloadDouble(p.value)
            var estimate = [Double](repeating: 0, count: values.count)
            for i in values.indices {
                let original = values[i]
                values[i] = original + epsilon
                try backend.upload(values, to: p.value)
                let plus = try cost()
                values[i] = original - epsilon
                try backend.upload(values, to: p.value)
                let minus = try cost()
                values[i] = original
                estimate[i] = (plus - minus) / (2 * epsilon)
            }
            try backend.upload(values, to: p.value)
            numeric.append(estimate)
        }

        var reports: [LayerReport] = []
        for (index, layerSpec) in checked.layers.enumerated() {
            let members = network.parameters.indices.filter { network.parameters[$0].layerIndex == index }
            guard !members.isEmpty else { continue }
            let g = members.flatMap { analytic[$0] }, n = members.flatMap { numeric[$0] }
            let difference = zip(g, n).map { $0 - $1 }
            let denominator = norm(g) + norm(n)
            reports.append(LayerReport(
                layer: index, kind: layerSpec.kindName, parameters: members.map { network.parameters[$0].name },
                parameterCount: g.count,
                relativeError: denominator > 0 ? norm(difference) / denominator : 0,
                maxAbsoluteDifference: difference.map(abs).max() ?? 0))
        }
        return reports
    }

    /// Euclidean norm, scaled to avoid overflow and underflow.
    static func norm(_ x: [Double]) -> Double {
        let scale = x.map(abs).max() ?? 0
        guard scale > 0 else { return 0 }
        return scale * x.reduce(0) { $0 + ($1 / scale) * ($1 / scale) }.squareRoot()
    }
}
