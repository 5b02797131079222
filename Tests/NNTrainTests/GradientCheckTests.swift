import NNCore
import NNNative
import NNTrain
import XCTest

/// Back-propagation against two-sided differences in Float64. The threshold 1e-7 is the course's:
/// with ε = 1e-7 the difference quotient's truncation error is O(ε²) ≈ 1e-14 and its rounding error
/// about 1e-16/ε ≈ 1e-9 relative, so correct gradients land near 1e-9–1e-8, and a wrong term (a missing
/// factor, a sign) lands far above 1e-4.
final class GradientCheckTests: XCTestCase {
    private let backend = NativeBackend(precision: .float64, threads: 1)

    private func assertCorrect(_ spec: NetworkSpec, regularization: Regularization = .none,
                               expectingKinds kinds: Set<String>, file: StaticString = #filePath, line: UInt = #line) throws {
        let reports = try GradientCheck.run(spec: spec, regularization: regularization, backend: backend)
        XCTAssertEqual(Set(reports.map(\.kind)), kinds, "layers checked", file: file, line: line)
        XCTAssertEqual(reports.reduce(0) { $0 + $1.parameterCount }, try Network(spec: spec, backend: backend).parameterCount,
                       "every parameter is checked", file: file, line: line)
        for r in reports {
            XCTAssertLessThan(r.relativeError, GradientCheck.threshold,
                              "layer \(r.layer) (\(r.kind)) \(r.parameters): relative error \(r.relativeError)", file: file, line: line)
        }
    }

    func testDenseBatchNormAndEveryActivationWithSoftmax() throws {
        try assertCorrect(try GradientCheck.standardSpec(), expectingKinds: ["dense", "batchnorm"])
    }

    func testEachActivationAfterBatchNorm() throws {
        for activation in Activation.allCases {
            let spec = try NetworkSpec.mlp(inputWidth: 4, hidden: [5, 4], classes: 3, activation: activation, batchNorm: true)
            try assertCorrect(spec, expectingKinds: ["dense", "batchnorm"])
        }
    }

    func testSigmoidBinaryCrossEntropyHead() throws {
        let spec = try NetworkSpec.mlp(inputWidth: 4, hidden: [5], classes: 2, activation: .tanh, batchNorm: false, head: .sigmoid)
        try assertCorrect(spec, expectingKinds: ["dense"])
    }

    func testL2AndL1Penalties() throws {
        let spec = try NetworkSpec.mlp(inputWidth: 4, hidden: [5], classes: 3, batchNorm: true)
        try assertCorrect(spec, regularization: try Regularization(l2: 0.7), expectingKinds: ["dense", "batchnorm"])
        try assertCorrect(spec, regularization: try Regularization(l1: 0.3), expectingKinds: ["dense", "batchnorm"])
        try assertCorrect(spec, regularization: try Regularization(l2: 0.5, l1: 0.2), expectingKinds: ["dense", "batchnorm"])
    }

    /// The check must be able to fail: a backend whose tanh backward is 1 % off is caught.
    func testDetectsAWrongGradient() throws {
        let faulty = DelegatingBackend(backend) { dx, native in try native.scale(dx, by: 1.01) }
        let spec = try NetworkSpec.mlp(inputWidth: 4, hidden: [5], classes: 3, activation: .tanh, batchNorm: false)
        let reports = try GradientCheck.run(spec: spec, backend: faulty)
        XCTAssertGreaterThan(reports[0].relativeError, 1e-4, "the layer before the faulty tanh")
        XCTAssertLessThan(reports[1].relativeError, GradientCheck.threshold, "the output layer is unaffected")
    }

    func testRefusesFloat32() {
        XCTAssertThrowsError(try GradientCheck.run(spec: try GradientCheck.standardSpec(), backend: NativeBackend(precision: .float32))) {
            guard case NNError.invalidArgument = $0 else { return XCTFail("\($0)") }
        }
    }
}
