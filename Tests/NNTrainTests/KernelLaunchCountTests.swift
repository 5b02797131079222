import NNCore
import NNOpenCL
import NNTrain
import XCTest

/// Kernel launches per training step of the OpenCL backend in the GPU kernel shapes. A count, not a
/// time: a GPU driver charges a few microseconds per launch whatever the kernel does, which at small
/// batches is a visible share of a step, so the count is held here and a change to it is deliberate.
final class KernelLaunchCountTests: XCTestCase {
    /// nnbench's MLP (784-512-256-10, batch norm + ReLU, Adam) at batch 128, one step as a GPU runs
    /// it: the GPU kernel shapes and the tiled GEMM family's built-in GPU tunings (on whatever device
    /// is here; the counts do not depend on it, except where bounded below).
    /// - Memory-bound, 8: forward, 2 hidden layers × 1 batch-norm + ReLU launch (128 rows are within
    ///   `OpenCLBackend.batchNormOneLaunchRows`; past it, statistics, their combination and the
    ///   normalisation are 3 launches); the head, 2 (softmax cross-entropy flagging the rows it
    ///   classifies right, then the loss and both epoch totals from its per-row values); backward,
    ///   the output's bias gradient and 2 × 1 batch-norm launches; Adam, 8 tensors in 1 launch.
    /// - GEMM: 3 forward products, the output's bias added in the last one's epilogue (no bias-row
    ///   launch), 3 weight gradients and 2 input gradients (the first layer's input needs none): 8.
    ///   A weight gradient split along k adds a reduce launch; how many are split depends on the
    ///   device's compute units, so that part is bounded.
    func testAnAdamStepOfTheBenchmarkMLPLaunchesAFixedSetOfKernels() throws {
        let backend = try XCTUnwrap(try TestSupport.openCL(gemmTuning: .gpuSquareDefault, skinnyGemmTuning: .gpuSkinnyDefault,
                                                           memoryKernels: .workGroup) as? OpenCLBackend)
        let step = try launchesOfOneStep(on: backend)
        let listing = Self.listing(step)
        let products = step.filter { $0.key.hasPrefix("gemm_tiled_") }.values.reduce(0, +)
        XCTAssertEqual(products, 8, listing)
        XCTAssertLessThanOrEqual(step["gemm_splitk_reduce", default: 0], 3, listing)
        XCTAssertNil(step["add_row_vector"], "the bias rides in the GEMM's epilogue: \(listing)")
        XCTAssertEqual(step["update_v4_multi"], 1, listing)
        XCTAssertNil(step["update_adam_v4"], "no tensor is updated on its own: \(listing)")
        XCTAssertEqual(step["softmax_xent"], 1, listing)
        XCTAssertEqual(step["head_totals"], 1, listing)
        for apart in ["argmax_rows", "reduce_partials", "axpy", "axpy_v4"] {
            XCTAssertNil(step[apart], "the head's totals ride in its two launches: \(listing)")
        }
        XCTAssertEqual(step["bn_forward_column_groups"], 2, listing)
        XCTAssertEqual(step["bn_backward_column_groups"], 2, listing)
        XCTAssertEqual(step.filter { !$0.key.hasPrefix("gemm_") }.values.reduce(0, +), 8, listing)
    }

    /// The launches of the second of two steps (the first also creates the optimizer's state).
    private func launchesOfOneStep(on backend: OpenCLBackend) throws -> [String: Int] {
        let spec = try NetworkSpec.mlp(inputWidth: 784, hidden: [512, 256], classes: 10, activation: .relu, batchNorm: true)
        var config = TrainingConfig()
        config.batchSize = 128
        config.optimizer = .adam
        let trainer = try Trainer(network: try Network(spec: spec, backend: backend, seed: 1), config: config)
        let pixels: [Float] = (0..<(128 * 784)).map { index in Float(index % 17) / 17 - 0.5 }
        let classes: [Float] = (0..<128).map { index in Float(index % 10) }
        let inputs = try backend.makeTensor(pixels, shape: Shape(128, 784))
        let labels = try backend.makeTensor(classes, shape: Shape(128, 1))
        try trainer.step(inputs: inputs, labels: labels)
        let before = backend.kernelLaunches
        try trainer.step(inputs: inputs, labels: labels)
        var step: [String: Int] = [:]
        for (name, total) in backend.kernelLaunches where total > before[name, default: 0] {
            step[name] = total - before[name, default: 0]
        }
        return step
    }

    private static func listing(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}
