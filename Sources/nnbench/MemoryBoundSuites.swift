import NNCore

/// Memory-bound ops, reported in GB/s against the triad bandwidth. Byte models count the
/// compulsory traffic of the m×n matrices only (per-feature vectors are O(n) and ignored); a
/// kernel that reads its input twice still gets credit for one read, so the figure shows how close
/// it comes to a single streaming pass.
enum MemoryBoundSuites {
    static let softmaxShape = Shape(4096, 1000)
    static let batchNormShape = Shape(4096, 1024)

    static func softmax() -> [Workload] {
        let s = softmaxShape
        return [Workload(suite: "softmax", name: "softmax rows \(s)",
                         model: "reads x, writes y once: 2·m·n·4 B", unit: .gigabytes,
                         workPerCall: 2 * Double(s.count) * 4, ceiling: .bandwidth) { backend in
            // Logits spread over ±8 so exp() sees a realistic range after the max shift.
            let x = try backend.benchmarkTensor(s, seed: 3, scale: 8)
            let y = try backend.makeTensor(s)
            return { try backend.softmax(x, into: y) }
        }]
    }

    static func batchNorm() -> [Workload] {
        let s = batchNormShape
        let bytes = Double(s.count) * 4
        return [
            Workload(suite: "batchnorm", name: "forward (training) \(s)",
                     model: "reads x, writes y: 2·m·n·4 B", unit: .gigabytes,
                     workPerCall: 2 * bytes, ceiling: .bandwidth) { backend in
                let state = try BatchNormState(backend: backend, shape: s)
                return { try state.forward() }
            },
            Workload(suite: "batchnorm", name: "backward \(s)",
                     model: "reads x, dy, writes dx: 3·m·n·4 B", unit: .gigabytes,
                     workPerCall: 3 * bytes, ceiling: .bandwidth) { backend in
                let state = try BatchNormState(backend: backend, shape: s)
                try state.forward()
                return { try state.backward() }
            },
            Workload(suite: "batchnorm", name: "forward + backward \(s)",
                     model: "2·m·n·4 + 3·m·n·4 B", unit: .gigabytes,
                     workPerCall: 5 * bytes, ceiling: .bandwidth) { backend in
                let state = try BatchNormState(backend: backend, shape: s)
                return {
                    try state.forward()
                    try state.backward()
                }
            },
        ] + batchNormReLU()
    }

    /// A network's `batchnorm → relu` pair, run as two ops and as the fused one. Each pair of rows
    /// shares a byte model, the pair's compulsory traffic, so the fused row's higher figure is the
    /// pass over memory it saves: forward, y written and read back; backward, dy written and read back.
    static func batchNormReLU() -> [Workload] {
        let s = batchNormShape
        let bytes = Double(s.count) * 4
        let forwardModel = "reads x, writes z: 2·m·n·4 B", backwardModel = "reads x, z, dz, writes dx: 4·m·n·4 B"
        return [
            Workload(suite: "batchnorm", name: "forward + relu, separate ops \(s)", model: forwardModel, unit: .gigabytes,
                     workPerCall: 2 * bytes, ceiling: .bandwidth) { backend in
                let state = try BatchNormState(backend: backend, shape: s)
                return { try state.forwardThenReLU() }
            },
            Workload(suite: "batchnorm", name: "forward + relu, fused \(s)", model: forwardModel, unit: .gigabytes,
                     workPerCall: 2 * bytes, ceiling: .bandwidth) { backend in
                let state = try BatchNormState(backend: backend, shape: s)
                return { try state.forward(relu: true) }
            },
            Workload(suite: "batchnorm", name: "backward through relu, separate ops \(s)", model: backwardModel,
                     unit: .gigabytes, workPerCall: 4 * bytes, ceiling: .bandwidth) { backend in
                let state = try BatchNormState(backend: backend, shape: s)
                try state.forward(relu: true)
                return { try state.reluBackwardThenBackward() }
            },
            Workload(suite: "batchnorm", name: "backward through relu, fused \(s)", model: backwardModel,
                     unit: .gigabytes, workPerCall: 4 * bytes, ceiling: .bandwidth) { backend in
                let state = try BatchNormState(backend: backend, shape: s)
                try state.forward(relu: true)
                return { try state.backward(relu: true) }
            },
        ]
    }
}

/// Operands of one batch-norm layer in training mode (ε 1e-5, averaging β 0.9, as the network uses).
private final class BatchNormState {
    let backend: any Backend
    /// y is batch norm's output (the ReLU's z when fused); z is the separate ReLU's output, and
    /// maskedGradient the separate ReLU backward's.
    let x, y, z, dy, dx, maskedGradient: Tensor
    let gamma, beta, runningMean, runningVariance, savedMean, savedInverseStd, gradGamma, gradBeta: Tensor

    init(backend: any Backend, shape: Shape) throws {
        self.backend = backend
        let features = Shape.vector(shape.columns)
        x = try backend.benchmarkTensor(shape, seed: 4, scale: 3)
        dy = try backend.benchmarkTensor(shape, seed: 5)
        y = try backend.makeTensor(shape)
        z = try backend.makeTensor(shape)
        dx = try backend.makeTensor(shape)
        maskedGradient = try backend.makeTensor(shape)
        gamma = try backend.makeTensor([Float](repeating: 1, count: shape.columns), shape: features)
        beta = try backend.makeTensor(features)
        runningMean = try backend.makeTensor(features)
        runningVariance = try backend.makeTensor([Float](repeating: 1, count: shape.columns), shape: features)
        savedMean = try backend.makeTensor(features)
        savedInverseStd = try backend.makeTensor(features)
        gradGamma = try backend.makeTensor(features)
        gradBeta = try backend.makeTensor(features)
    }

    func forward(relu: Bool = false) throws {
        try backend.batchNormForwardTraining(
            x, gamma: gamma, beta: beta, runningMean: runningMean, runningVariance: runningVariance,
            averagingBeta: 0.9, epsilon: 1e-5, output: y, savedMean: savedMean, savedInverseStd: savedInverseStd, relu: relu)
    }

    /// What a network did before fusion: batch norm into y, then the ReLU layer from y into z.
    func forwardThenReLU() throws {
        try forward()
        try backend.activationForward(.relu, y, into: z)
    }

    /// With `relu`, dy is dL/dz of the fused forward's output y and is masked by it.
    func backward(relu: Bool = false) throws {
        if relu {
            try backend.batchNormBackward(
                x, reluOutput: y, gradOutput: dy, gamma: gamma, savedMean: savedMean, savedInverseStd: savedInverseStd,
                gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta)
        } else {
            try backend.batchNormBackward(
                x, gradOutput: dy, gamma: gamma, savedMean: savedMean, savedInverseStd: savedInverseStd,
                gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta)
        }
    }

    /// The backward before fusion: the ReLU layer's into its own tensor, then batch norm's from it.
    func reluBackwardThenBackward() throws {
        try backend.activationBackward(.relu, output: y, gradOutput: dy, into: maskedGradient)
        try backend.batchNormBackward(
            x, gradOutput: maskedGradient, gamma: gamma, savedMean: savedMean, savedInverseStd: savedInverseStd,
            gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta)
    }
}
