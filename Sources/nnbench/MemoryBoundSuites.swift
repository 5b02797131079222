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
        ]
    }
}

/// Operands of one batch-norm layer in training mode (ε 1e-5, averaging β 0.9, as the network uses).
private final class BatchNormState {
    let backend: any Backend
    let x, y, dy, dx: Tensor
    let gamma, beta, runningMean, runningVariance, savedMean, savedInverseStd, gradGamma, gradBeta: Tensor

    init(backend: any Backend, shape: Shape) throws {
        self.backend = backend
        let features = Shape.vector(shape.columns)
        x = try backend.benchmarkTensor(shape, seed: 4, scale: 3)
        dy = try backend.benchmarkTensor(shape, seed: 5)
        y = try backend.makeTensor(shape)
        dx = try backend.makeTensor(shape)
        gamma = try backend.makeTensor([Float](repeating: 1, count: shape.columns), shape: features)
        beta = try backend.makeTensor(features)
        runningMean = try backend.makeTensor(features)
        runningVariance = try backend.makeTensor([Float](repeating: 1, count: shape.columns), shape: features)
        savedMean = try backend.makeTensor(features)
        savedInverseStd = try backend.makeTensor(features)
        gradGamma = try backend.makeTensor(features)
        gradBeta = try backend.makeTensor(features)
    }

    func forward() throws {
        try backend.batchNormForwardTraining(
            x, gamma: gamma, beta: beta, runningMean: runningMean, runningVariance: runningVariance,
            averagingBeta: 0.9, epsilon: 1e-5, output: y, savedMean: savedMean, savedInverseStd: savedInverseStd)
    }

    func backward() throws {
        try backend.batchNormBackward(
            x, gradOutput: dy, gamma: gamma, savedMean: savedMean, savedInverseStd: savedInverseStd,
            gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta)
    }
}
