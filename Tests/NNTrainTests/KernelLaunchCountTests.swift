import NNCore
import NNOpenCL
import NNTrain
import XCTest

/// Kernel launches per training step of the OpenCL backend in the GPU kernel shapes. A count, not a
/// time: a GPU driver charges a few microseconds per launch whatever the kernel does, which at small
/// batches is a visible share of a step, so the count is held here and a change to it is deliberate.
final class KernelLaunchCountTests: XCTestCase {
    /// nnbench's MLP (784-512-256-10, batch norm + ReLU, Adam) at batch 128: the memory-bound
    /// launches of one step, leaving out the GEMMs, whose family (and packing launches) depends on
    /// the device. Forward: 2 hidden layers × 3 batch-norm launches (statistics, their combination,
    /// normalise + ReLU) and the output's bias row (7). Loss: softmax cross-entropy, its one-launch
    /// sum, and its addition to the epoch's sum (3). Correct count: arg-max compare and its sum (2).
    /// Backward: the output's bias gradient and 2 × 3 batch-norm launches (7). Adam: 8 tensors in 2
    /// launches. 21 in all.
    func testAnAdamStepOfTheBenchmarkMLPLaunchesAFixedSetOfMemoryBoundKernels() throws {
        let backend = try XCTUnwrap(try TestSupport.openCL(memoryKernels: .workGroup) as? OpenCLBackend)
        let spec = try NetworkSpec.mlp(inputWidth: 784, hidden: [512, 256], classes: 10, activation: .relu, batchNorm: true)
        var config = TrainingConfig()
        config.batchSize = 128
        config.optimizer = .adam
        let trainer = try Trainer(network: try Network(spec: spec, backend: backend, seed: 1), config: config)
        let pixels: [Float] = (0..<(128 * 784)).map { index in Float(index % 17) / 17 - 0.5 }
        let classes: [Float] = (0..<128).map { index in Float(index % 10) }
        let inputs = try backend.makeTensor(pixels, shape: Shape(128, 784))
        let labels = try backend.makeTensor(classes, shape: Shape(128, 1))
        try trainer.step(inputs: inputs, labels: labels)  // the first step also creates the optimizer's state
        let before = backend.kernelLaunches
        try trainer.step(inputs: inputs, labels: labels)
        var step: [String: Int] = [:]
        for (name, total) in backend.kernelLaunches where !name.hasPrefix("gemm_") && total > before[name, default: 0] {
            step[name] = total - before[name, default: 0]
        }
        let listing = step.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        XCTAssertEqual(step["update_v4_multi"], 2, listing)
        XCTAssertNil(step["update_adam_v4"], "no tensor is updated on its own: \(listing)")
        XCTAssertEqual(step.values.reduce(0, +), 21, listing)
    }
}
