import NNCore
@testable import NNTrain
import XCTest

/// A batch-norm layer directly followed by a ReLU runs as one fused step (``LayerFusion``) and
/// trains exactly as the two layers run apart.
final class BatchNormReLUFusionTests: XCTestCase {
    /// Only a batch norm with a ReLU right after it is fused: not across dropout, not with tanh.
    func testOnlyAdjacentBatchNormAndReLUAreFused() throws {
        let backend = TestSupport.native()
        func fused(_ layers: [LayerSpec]) throws -> [Int] {
            let spec = try NetworkSpec(inputWidth: 5, layers: layers + [.dense(units: 3, initializer: .xavier)], classes: 3)
            return try Network(spec: spec, backend: backend).fusedBatchNormIndices
        }
        let mlp = try NetworkSpec.mlp(inputWidth: 5, hidden: [8, 6], classes: 3, activation: .relu, batchNorm: true,
                                      keepProbability: 0.8)
        XCTAssertEqual(try Network(spec: mlp, backend: backend).fusedBatchNormIndices, [1, 5])
        XCTAssertEqual(try fused([.dense(units: 4, initializer: .he), .batchNorm, .dropout(keep: 0.8), .activation(.relu)]), [])
        XCTAssertEqual(try fused([.dense(units: 4, initializer: .he), .batchNorm, .activation(.tanh)]), [])
        XCTAssertEqual(try fused([.dense(units: 4, initializer: .he), .activation(.relu), .batchNorm]), [])
        XCTAssertEqual(try fused([.dense(units: 4, initializer: .he), .batchNorm, .activation(.relu), .batchNorm,
                                  .activation(.relu)]), [1, 3])
    }

    /// Native: the fused loops do each element's arithmetic of the separate ops in the same order,
    /// so losses, gradients, parameters, running statistics and evaluation logits are identical.
    func testFusedTrainingIsIdenticalOnNative() throws {
        try compareFusedWithUnfused(on: TestSupport.native(), tolerance: (0, 0))
    }

    /// OpenCL: the same kernels with and without their relu argument, the ReLU applied to the same
    /// rounded y; only a device compiler's different contraction of the fused kernels' arithmetic
    /// (a few ulps, ~1e-7 relative per op) may separate them. Three Adam steps at α = 1e-2 turn a
    /// relative gradient difference δ into parameter differences of ~δ·α, so
    /// |a − b| ≤ 1e-6 + 1e-5·|b| leaves an order of magnitude of margin and still catches a wrong
    /// mask (a gradient off by O(1), a parameter by ~α).
    func testFusedTrainingAgreesOnOpenCL() throws {
        try compareFusedWithUnfused(on: try TestSupport.openCL(), tolerance: (1e-6, 1e-5))
    }

    /// Trains the same network (batch norm + ReLU twice, dropout after the second ReLU) fused and
    /// apart for three Adam steps and compares everything they compute.
    private func compareFusedWithUnfused(on backend: any Backend, tolerance: (absolute: Float, relative: Float)) throws {
        let data = try TestSupport.synthetic(count: 48, width: 7, classes: 3, seed: 33)
        let normalizer = try InputNormalizer.fit(data)
        let spec = try NetworkSpec(inputWidth: 7, layers: [
            .dense(units: 12, initializer: .he), .batchNorm, .activation(.relu),
            .dense(units: 9, initializer: .he), .batchNorm, .activation(.relu), .dropout(keep: 0.8),
            .dense(units: 3, initializer: .xavier),
        ], classes: 3)
        let inputs = try backend.makeTensor(normalizer.apply(data.features), shape: Shape(data.count, data.width))
        let labels = try backend.makeTensor(data.labels.map(Float.init), shape: Shape(data.count, 1))

        struct Run {
            var losses: [Float] = []
            var gradients: [[Float]] = []
            var state: [NamedTensor] = []
            var evaluationLogits: [Float] = []
        }
        func train(fused: Bool) throws -> Run {
            let network = try Network(spec: spec, backend: backend, seed: 5)
            network.fusesBatchNormReLU = fused
            XCTAssertEqual(network.fusedBatchNormIndices, [1, 4])
            let optimizer = try Optimizer(kind: .adam, parameters: network.parameters, backend: backend)
            var run = Run()
            network.mode = .training
            for step in 0..<3 {
                let logits = try network.forward(inputs)
                run.losses.append(try backend.scalar(try network.loss(logits: logits, labels: labels)))
                try network.backward()
                if step == 0 { run.gradients = try network.parameters.map { try backend.download($0.gradient) } }
                try optimizer.apply(learningRate: 1e-2, penalty: .none)
            }
            run.state = try network.namedTensors()
            network.mode = .evaluation
            run.evaluationLogits = try backend.download(try network.forward(inputs))
            return run
        }

        let fused = try train(fused: true), apart = try train(fused: false)
        func assertClose(_ a: [Float], _ b: [Float], _ what: String) {
            XCTAssertEqual(a.count, b.count, what)
            for (i, (x, y)) in zip(a, b).enumerated() where !(abs(x - y) <= tolerance.absolute + tolerance.relative * abs(y)) {
                return XCTFail("\(what)[\(i)]: fused \(x) vs apart \(y)")
            }
        }
        assertClose(fused.losses, apart.losses, "loss")
        XCTAssertNotEqual(apart.losses.first, apart.losses.last, "the steps must change the network")
        XCTAssertEqual(fused.gradients.count, apart.gradients.count)
        for (i, (a, b)) in zip(fused.gradients, apart.gradients).enumerated() { assertClose(a, b, "gradient of parameter \(i)") }
        XCTAssertEqual(fused.state.map(\.name), apart.state.map(\.name))
        for (a, b) in zip(fused.state, apart.state) {
            XCTAssertEqual(a.integers, b.integers, a.name)
            assertClose(a.values, b.values, a.name)
        }
        assertClose(fused.evaluationLogits, apart.evaluationLogits, "evaluation logits")
    }
}
