import NNCore
import NNTrain
import XCTest

/// Whole training steps agree between the OpenCL and native backends.
final class BackendAgreementTests: XCTestCase {
    /// Five Adam steps of a batch-norm + dropout network from the same seed.
    ///
    /// Tolerances: both backends compute in Float32 but sum in different orders (tiled GEMM,
    /// work-group reductions), so each op differs by a few ulps (~1e-6 relative). Five steps of
    /// Adam at α = 1e-2 move each weight by at most 5·α; a relative gradient difference δ changes
    /// an Adam step by about δ·α, so parameters agree to ≈ 1e-7 absolute — the bound
    /// |a − b| ≤ 1e-5 + 1e-4·|b| leaves two orders of margin while still catching any wrong kernel
    /// (an error in one step moves a parameter by ~α = 1e-2). Losses agree to 1e-5 relative.
    func testFiveAdamStepsAgree() throws {
        let opencl = try TestSupport.openCL()
        let native = TestSupport.native()
        let data = try TestSupport.synthetic(count: 64, width: 10, classes: 4, seed: 21)
        let normalizer = try InputNormalizer.fit(data)
        let spec = try NetworkSpec.mlp(inputWidth: 10, hidden: [16, 12], classes: 4, batchNorm: true, keepProbability: 0.7)

        func run(on backend: any Backend) throws -> (losses: [Float], tensors: [NamedTensor]) {
            let network = try Network(spec: spec, backend: backend, seed: 8)
            let optimizer = try Optimizer(kind: .adam, parameters: network.parameters, backend: backend)
            let inputs = try backend.makeTensor(normalizer.apply(data.features), shape: Shape(data.count, data.width))
            let labels = try backend.makeTensor(data.labels.map(Float.init), shape: Shape(data.count, 1))
            network.mode = .training
            var losses: [Float] = []
            for _ in 0..<5 {
                let logits = try network.forward(inputs)
                losses.append(try backend.scalar(try network.loss(logits: logits, labels: labels)))
                try network.backward()
                try optimizer.apply(learningRate: 1e-2, penalty: WeightPenalty(l2: 1e-3))
            }
            return (losses, try network.namedTensors())
        }

        let a = try run(on: opencl), b = try run(on: native)
        for (step, (x, y)) in zip(a.losses, b.losses).enumerated() {
            XCTAssertEqual(x, y, accuracy: 1e-5 * abs(y), "loss at step \(step + 1)")
        }
        XCTAssertNotEqual(b.losses.first, b.losses.last, "the steps must change the network")
        XCTAssertEqual(a.tensors.map(\.name), b.tensors.map(\.name))
        for (x, y) in zip(a.tensors, b.tensors) {
            XCTAssertEqual(x.shape, y.shape, x.name)
            XCTAssertEqual(x.integers, y.integers, x.name)
            for (i, (u, v)) in zip(x.values, y.values).enumerated() where abs(u - v) > 1e-5 + 1e-4 * abs(v) {
                XCTFail("\(x.name)[\(i)]: OpenCL \(u) vs native \(v)")
                break
            }
        }
    }
}
