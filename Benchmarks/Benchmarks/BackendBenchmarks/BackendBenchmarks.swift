// Regression benchmarks for the SwiftNN backends: the kernels `nnbench` reports (GEMM at n = 512 and
// the MLP's three forms, softmax 4096×1000, batch norm forward + backward 4096×1024, whole Adam
// training steps at batch 128 and 512), on every backend that can be created here.
//
// `nnbench` answers "how fast, against this machine's ceiling"; this suite answers "slower than
// last time?": `swift package benchmark baseline update main` records a baseline, and
// `swift package benchmark baseline check main` fails when a benchmark crosses its thresholds.
import Benchmark
import NNCore
import NNNative
import NNOpenCL
import NNTrain

/// Thresholds a regression trips. On the shared 2-core build machine, back-to-back runs of one binary
/// moved the wall-clock median by up to 34 % (PoCL GEMM) and the p90 by 55 %, so the bounds catch
/// gross regressions only — a lost SIMD path (2–5×), a dropped thread (2×), a kernel no longer tiled —
/// with 50 % at the median and its inverse for throughput (the harness's default of 5 % fails on noise
/// alone); the tail is left unchecked. On a quiet, dedicated machine, tighten them. Hot paths must not
/// allocate host memory per call (tensors are caller-allocated by contract), so the malloc count may
/// rise by at most a handful per iteration — the backends' own bookkeeping, not a buffer per op.
/// (Functions rather than globals: the harness's configuration types are not `Sendable`.)
private func regressionThresholds() -> [BenchmarkMetric: BenchmarkThresholds] {
    [
        .wallClock: .init(relative: [.p50: 50]),
        .throughput: .init(relative: [.p25: 50, .p50: 50, .p75: 50]),
        .mallocCountTotal: .init(absolute: [.p50: 8]),
    ]
}

private func configuration() -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 2_000,
        thresholds: regressionThresholds())
}

/// Every backend that can be created here; an OpenCL failure is reported once and leaves native alone.
private func availableBackends() -> [any Backend] {
    var backends: [any Backend] = [NativeBackend(precision: .float32)]
    do {
        backends.append(try OpenCLBackend(deviceSelector: nil))
    } catch {
        print("BackendBenchmarks: OpenCL left out: \(error)")
    }
    return backends
}

/// Operands allocated on first use, so that listing or filtering benchmarks allocates nothing and
/// setup never falls inside a measured iteration (the first call is a warm-up iteration).
private final class LazyKernel: @unchecked Sendable {
    private let prepare: () throws -> () throws -> Void
    private var kernel: (() throws -> Void)?

    init(_ prepare: @escaping () throws -> () throws -> Void) {
        self.prepare = prepare
    }

    func callAsFunction() throws {
        if kernel == nil { kernel = try prepare() }
        try kernel?()
    }
}

private func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (Float(state >> 40) * 0x1p-24 * 2 - 1) * scale
    }
}

private func tensor(_ backend: any Backend, _ shape: Shape, seed: UInt64, scale: Float = 1) throws -> Tensor {
    try backend.makeTensor(values(shape.count, seed: seed, scale: scale), shape: shape)
}

/// Registers one benchmark: `calls` kernel calls per iteration, then a device synchronisation, so
/// asynchronous backends pay for their queued work inside the measurement.
private func register(_ name: String, on backend: any Backend, kernel: LazyKernel) {
    Benchmark("\(name) [\(backend.name)]", configuration: configuration()) { benchmark in
        for _ in benchmark.scaledIterations {
            try kernel()
        }
        try backend.synchronize()
    }
}

private func gemm(_ backend: any Backend, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) -> LazyKernel {
    LazyKernel {
        let a = try tensor(backend, transposeA ? Shape(k, m) : Shape(m, k), seed: 1)
        let b = try tensor(backend, transposeB ? Shape(n, k) : Shape(k, n), seed: 2)
        let c = try backend.makeTensor(Shape(m, n))
        return { try backend.gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: 1, beta: 0) }
    }
}

private func softmax(_ backend: any Backend) -> LazyKernel {
    LazyKernel {
        let x = try tensor(backend, Shape(4096, 1000), seed: 3, scale: 8)
        let y = try backend.makeTensor(Shape(4096, 1000))
        return { try backend.softmax(x, into: y) }
    }
}

private func batchNorm(_ backend: any Backend) -> LazyKernel {
    LazyKernel {
        let shape = Shape(4096, 1024), features = Shape.vector(1024)
        let x = try tensor(backend, shape, seed: 4, scale: 3)
        let dy = try tensor(backend, shape, seed: 5)
        let y = try backend.makeTensor(shape), dx = try backend.makeTensor(shape)
        let gamma = try backend.makeTensor([Float](repeating: 1, count: 1024), shape: features)
        let beta = try backend.makeTensor(features)
        let runningMean = try backend.makeTensor(features)
        let runningVariance = try backend.makeTensor([Float](repeating: 1, count: 1024), shape: features)
        let mean = try backend.makeTensor(features), inverseStd = try backend.makeTensor(features)
        let gradGamma = try backend.makeTensor(features), gradBeta = try backend.makeTensor(features)
        return {
            try backend.batchNormForwardTraining(
                x, gamma: gamma, beta: beta, runningMean: runningMean, runningVariance: runningVariance,
                averagingBeta: 0.9, epsilon: 1e-5, output: y, savedMean: mean, savedInverseStd: inverseStd)
            try backend.batchNormBackward(
                x, gradOutput: dy, gamma: gamma, savedMean: mean, savedInverseStd: inverseStd,
                gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta)
        }
    }
}

private func trainingStep(_ backend: any Backend, batch: Int) -> LazyKernel {
    LazyKernel {
        let spec = try NetworkSpec.mlp(inputWidth: 784, hidden: [512, 256], classes: 10, activation: .relu, batchNorm: true)
        let network = try Network(spec: spec, backend: backend, seed: 1)
        var config = TrainingConfig()
        config.batchSize = batch
        config.optimizer = .adam
        config.learningRate = 1e-3
        let trainer = try Trainer(network: network, config: config)
        let inputs = try tensor(backend, Shape(batch, 784), seed: 6)
        let labels = try backend.makeTensor((0..<batch).map { Float($0 * 7 % 10) }, shape: Shape(batch, 1))
        return { try trainer.step(inputs: inputs, labels: labels) }
    }
}

let benchmarks: @Sendable () -> Void = {
    for backend in availableBackends() {
        register("gemm 512×512×512", on: backend, kernel: gemm(backend, m: 512, n: 512, k: 512, transposeA: false, transposeB: false))
        register("gemm Z = X·W 256×512 k784", on: backend, kernel: gemm(backend, m: 256, n: 512, k: 784, transposeA: false, transposeB: false))
        register("gemm dW = Xᵀ·dZ 784×512 k256", on: backend, kernel: gemm(backend, m: 784, n: 512, k: 256, transposeA: true, transposeB: false))
        register("gemm dX = dZ·Wᵀ 256×784 k512", on: backend, kernel: gemm(backend, m: 256, n: 784, k: 512, transposeA: false, transposeB: true))
        register("softmax 4096×1000", on: backend, kernel: softmax(backend))
        register("batchnorm fwd+bwd 4096×1024", on: backend, kernel: batchNorm(backend))
        register("train step MLP batch 128", on: backend, kernel: trainingStep(backend, batch: 128))
        register("train step MLP batch 512", on: backend, kernel: trainingStep(backend, batch: 512))
    }
}
