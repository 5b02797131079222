import Foundation
import NNCore
import XCTest

/// The shared operand validation: every backend relies on these checks to throw the same errors.
final class OpCheckTests: XCTestCase {
    private let backend = NameOnlyBackend(name: "native")

    private func assertThrows(_ expected: NNError, _ body: () throws -> Void,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? NNError, expected, file: file, line: line)
        }
    }

    private func assertShapeMismatch(_ op: String, mentioning fragments: [String], _ body: () throws -> Void,
                                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case let NNError.shapeMismatch(actualOp, detail) = error else {
                return XCTFail("expected shapeMismatch, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(actualOp, op, file: file, line: line)
            for fragment in fragments {
                XCTAssert(detail.contains(fragment), "'\(detail)' should mention '\(fragment)'", file: file, line: line)
            }
        }
    }

    func testUsableRejectsEmptyForeignAndOversizedTensors() throws {
        try OpCheck.usable("fill", backend.tensor(3, 4), on: backend)
        assertThrows(.emptyTensor(op: "fill", shape: Shape(0, 3))) {
            try OpCheck.usable("fill", backend.tensor(0, 3), on: backend)
        }
        assertThrows(.emptyTensor(op: "fill", shape: Shape(3, 0))) {
            try OpCheck.usable("fill", backend.tensor(3, 0), on: backend)
        }
        assertThrows(.foreignTensor(op: "copy", expected: "native", found: "opencl")) {
            try OpCheck.usable("copy", [backend.tensor(2, 2), backend.tensor(2, 2, owner: "opencl")], on: backend)
        }
        XCTAssertThrowsError(try OpCheck.usable("fill", backend.tensor(1 << 16, 1 << 15), on: backend)) { error in
            guard case NNError.sizeOverflow(op: "fill", _) = error else { return XCTFail("expected sizeOverflow, got \(error)") }
        }
        // 2³¹ − 1 elements exactly is still indexable.
        try OpCheck.usable("fill", backend.tensor(1, Int(Int32.max)), on: backend)
    }

    func testGemmDimensionsForEveryTransposeCombination() throws {
        // op(A) is 5×3, op(B) is 3×7, C is 5×7.
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = ta ? backend.tensor(3, 5) : backend.tensor(5, 3)
            let b = tb ? backend.tensor(7, 3) : backend.tensor(3, 7)
            let dims = try OpCheck.gemm(a, transposeA: ta, b, transposeB: tb, c: backend.tensor(5, 7), on: backend)
            XCTAssertEqual(dims.m, 5)
            XCTAssertEqual(dims.n, 7)
            XCTAssertEqual(dims.k, 3, "transposeA \(ta), transposeB \(tb)")
        }
        assertShapeMismatch("gemm", mentioning: ["inner dimensions 3 and 4"]) {
            _ = try OpCheck.gemm(backend.tensor(5, 3), transposeA: false, backend.tensor(4, 7), transposeB: false,
                                 c: backend.tensor(5, 7), on: backend)
        }
        assertShapeMismatch("gemm", mentioning: ["5×7", "7×5"]) {
            _ = try OpCheck.gemm(backend.tensor(5, 3), transposeA: false, backend.tensor(3, 7), transposeB: false,
                                 c: backend.tensor(7, 5), on: backend)
        }
    }

    func testPerFeatureAndVectorChecks() throws {
        let x = backend.tensor(8, 4)
        try OpCheck.perFeature("bn", input: x, outputs: [("y", backend.tensor(8, 4))],
                               vectors: [("gamma", backend.tensor(1, 4)), ("beta", backend.tensor(4, 1))], on: backend)
        assertShapeMismatch("bn", mentioning: ["gamma", "1×5", "1×4"]) {
            try OpCheck.perFeature("bn", input: x, outputs: [], vectors: [("gamma", backend.tensor(1, 5))], on: backend)
        }
        assertShapeMismatch("bn", mentioning: ["gamma", "2×2"]) {
            try OpCheck.perFeature("bn", input: x, outputs: [], vectors: [("gamma", backend.tensor(2, 2))], on: backend)
        }
        assertShapeMismatch("bn", mentioning: ["input", "y", "8×3"]) {
            try OpCheck.perFeature("bn", input: x, outputs: [("y", backend.tensor(8, 3))], vectors: [], on: backend)
        }
        assertShapeMismatch("copy", mentioning: ["2×3", "4×2"]) {
            try OpCheck.sameCount("copy", backend.tensor(2, 3), backend.tensor(4, 2))
        }
        try OpCheck.sameCount("copy", backend.tensor(2, 3), backend.tensor(3, 2))
    }

    func testClassifierHeadChecksLabelsGradientAndLoss() throws {
        let logits = backend.tensor(6, 3)
        try OpCheck.classifierHead("ce", logits: logits, labels: backend.tensor(6, 1), gradient: backend.tensor(6, 3),
                                   loss: backend.tensor(1, 1), on: backend)
        try OpCheck.classifierHead("ce", logits: logits, labels: backend.tensor(1, 6), gradient: backend.tensor(6, 3),
                                   loss: backend.tensor(1, 1), on: backend)
        assertShapeMismatch("ce", mentioning: ["labels", "5×1"]) {
            try OpCheck.classifierHead("ce", logits: logits, labels: backend.tensor(5, 1), gradient: backend.tensor(6, 3),
                                       loss: backend.tensor(1, 1), on: backend)
        }
        assertShapeMismatch("ce", mentioning: ["logits", "gradient"]) {
            try OpCheck.classifierHead("ce", logits: logits, labels: backend.tensor(6, 1), gradient: backend.tensor(3, 6),
                                       loss: backend.tensor(1, 1), on: backend)
        }
        assertShapeMismatch("ce", mentioning: ["loss", "1×2"]) {
            try OpCheck.classifierHead("ce", logits: logits, labels: backend.tensor(6, 1), gradient: backend.tensor(6, 3),
                                       loss: backend.tensor(1, 2), on: backend)
        }
    }

    func testKeepProbabilityRange() throws {
        try OpCheck.keepProbability("dropout", 1)
        try OpCheck.keepProbability("dropout", 0.5)
        for keep: Float in [0, -0.1, 1.0001, .nan] {
            XCTAssertThrowsError(try OpCheck.keepProbability("dropout", keep), "keep \(keep)") { error in
                guard case NNError.invalidArgument(op: "dropout", _) = error else {
                    return XCTFail("expected invalidArgument, got \(error)")
                }
            }
        }
    }

    func testUpdateRuleHyperparameters() throws {
        let valid: [(UpdateRule, Float)] = [
            (.sgd, 0.1), (.sgd, 0), (.momentum(beta: 0.9), 0.1), (.rmsprop(beta: 0.99, epsilon: 1e-8), 0.01), (.adam, 1e-3),
        ]
        for (rule, lr) in valid { try OpCheck.rule(rule, learningRate: lr, step: 1, penalty: WeightPenalty(l2: 0.01, l1: 0.001)) }
        let invalid: [(UpdateRule, Float, Int, WeightPenalty, String)] = [
            (.sgd, -0.1, 1, .none, "learning rate"),
            (.sgd, .infinity, 1, .none, "learning rate"),
            (.sgd, 0.1, 1, WeightPenalty(l2: -1), "penalties"),
            (.sgd, 0.1, 1, WeightPenalty(l1: .nan), "penalties"),
            (.momentum(beta: 1), 0.1, 1, .none, "β"),
            (.momentum(beta: -0.5), 0.1, 1, .none, "β"),
            (.rmsprop(beta: 0.9, epsilon: 0), 0.1, 1, .none, "ε"),
            (.adam(beta1: 0.9, beta2: 1.5, epsilon: 1e-8), 0.1, 1, .none, "β₂"),
            (.adam, 0.1, 0, .none, "step"),
        ]
        for (rule, lr, step, penalty, fragment) in invalid {
            XCTAssertThrowsError(try OpCheck.rule(rule, learningRate: lr, step: step, penalty: penalty), "\(rule)") { error in
                guard case let NNError.invalidArgument(op, detail) = error else {
                    return XCTFail("expected invalidArgument for \(rule), got \(error)")
                }
                XCTAssertEqual(op, "update")
                XCTAssert(detail.contains(fragment), "'\(detail)' should mention '\(fragment)'")
            }
        }
    }

    /// The rule the command line, the config and the kernels share keeps the JSON of the enum it
    /// replaced (`OptimizerKind`), so saved runs resume.
    func testUpdateRuleKeepsItsSavedFormat() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        XCTAssertEqual(String(decoding: try encoder.encode(UpdateRule.momentum(beta: 0.5)), as: UTF8.self), #"{"momentum":{"beta":0.5}}"#)
        let saved = #"{"adam":{"beta1":0.9,"beta2":0.999,"epsilon":1e-08}}"#
        XCTAssertEqual(try JSONDecoder().decode(UpdateRule.self, from: Data(saved.utf8)), .adam)
        XCTAssertEqual(UpdateRule.adam().stateNames, ["m", "v"])
    }

    func testUpdateStateCountAndShapes() throws {
        let w = backend.tensor(3, 4), g = backend.tensor(3, 4)
        let adam: UpdateRule = .adam
        XCTAssertEqual(adam.stateCount, 2)
        XCTAssertEqual(UpdateRule.sgd.stateCount, 0)
        XCTAssertEqual(UpdateRule.momentum(beta: 0.9).stateCount, 1)
        try OpCheck.update(adam, learningRate: 1e-3, step: 1, penalty: .none, parameter: w, gradient: g,
                           state: [backend.tensor(3, 4), backend.tensor(3, 4)], on: backend)
        XCTAssertThrowsError(try OpCheck.update(adam, learningRate: 1e-3, step: 1, penalty: .none, parameter: w, gradient: g,
                                                state: [backend.tensor(3, 4)], on: backend)) { error in
            guard case NNError.invalidArgument(op: "update", _) = error else { return XCTFail("got \(error)") }
        }
        assertShapeMismatch("update", mentioning: ["parameter", "state"]) {
            try OpCheck.update(adam, learningRate: 1e-3, step: 1, penalty: .none, parameter: w, gradient: g,
                               state: [backend.tensor(3, 4), backend.tensor(4, 3)], on: backend)
        }
        assertShapeMismatch("update", mentioning: ["parameter", "gradient"]) {
            try OpCheck.update(.sgd, learningRate: 1, step: 1, penalty: .none, parameter: w, gradient: backend.tensor(4, 3),
                               state: [], on: backend)
        }
    }

    func testFiniteRejectsNaNAndInfinity() throws {
        try OpCheck.finite("scale", [("alpha", 2)])
        XCTAssertThrowsError(try OpCheck.finite("scale", [("alpha", .nan)]))
        XCTAssertThrowsError(try OpCheck.finite("scale", [("alpha", -.infinity)]))
    }

    // MARK: One rule per Backend op

    /// Every per-op rule reports errors under its own op's name, so a backend calling it throws
    /// exactly what the protocol documents for that op. A foreign output is the one mistake every op
    /// can be handed, so each rule gets one here.
    func testEveryOpRuleNamesItsOp() throws {
        let b = backend
        let x = b.tensor(4, 3), other = b.tensor(4, 3, owner: "opencl")
        let v = b.tensor(1, 3), loss = b.tensor(1, 1), labels = b.tensor(4, 1)
        let rules: [(String, () throws -> Void)] = [
            ("upload", { try OpCheck.upload(valueCount: 12, to: other, on: b) }),
            ("download", { try OpCheck.download(other, on: b) }),
            ("gemm", { _ = try OpCheck.gemm(x, transposeA: true, x, transposeB: false, c: b.tensor(3, 3, owner: "opencl"), on: b) }),
            ("addRowVector", { try OpCheck.addRowVector(v, to: other, on: b) }),
            ("columnSums", { try OpCheck.columnSums(x, into: b.tensor(1, 3, owner: "opencl"), on: b) }),
            ("reduce", { try OpCheck.reduce(x, into: b.tensor(1, 1, owner: "opencl"), on: b) }),
            ("fill", { try OpCheck.fill(other, on: b) }),
            ("copy", { try OpCheck.copy(x, to: other, on: b) }),
            ("scale", { try OpCheck.scale(other, on: b) }),
            ("axpy", { try OpCheck.axpy(x, other, on: b) }),
            ("multiply", { try OpCheck.multiply(x, x, into: other, on: b) }),
            ("activationForward", { try OpCheck.activationForward(x, into: other, on: b) }),
            ("activationBackward", { try OpCheck.activationBackward(output: x, gradOutput: x, into: other, on: b) }),
            ("batchNormForwardTraining", {
                try OpCheck.batchNormForwardTraining(x, gamma: v, beta: v, runningMean: v, runningVariance: v, averagingBeta: 0.9,
                                                     epsilon: 1e-5, output: other, savedMean: v, savedInverseStd: v, on: b)
            }),
            ("batchNormForwardInference", {
                try OpCheck.batchNormForwardInference(x, gamma: v, beta: v, runningMean: v, runningVariance: v, epsilon: 1e-5,
                                                      output: other, on: b)
            }),
            ("batchNormBackward", {
                try OpCheck.batchNormBackward(x, gradOutput: x, gamma: v, savedMean: v, savedInverseStd: v, gradInput: other,
                                              gradGamma: v, gradBeta: v, on: b)
            }),
            ("softmax", { try OpCheck.softmax(x, into: other, on: b) }),
            ("softmaxCrossEntropy", { try OpCheck.softmaxCrossEntropy(x, labels: labels, gradient: other, loss: loss, on: b) }),
            ("sigmoidCrossEntropy", {
                try OpCheck.sigmoidCrossEntropy(labels, labels: labels, gradient: b.tensor(4, 1, owner: "opencl"), loss: loss,
                                                on: b)
            }),
            ("argmaxRows", { try OpCheck.argmaxRows(x, into: b.tensor(4, 1, owner: "opencl"), on: b) }),
            ("dropoutForward", { try OpCheck.dropoutForward(x, keepProbability: 0.5, mask: x, output: other, on: b) }),
            ("update", {
                try OpCheck.update(.sgd, learningRate: 0.1, step: 1, penalty: .none, parameter: x, gradient: other, state: [], on: b)
            }),
        ]
        for (op, rule) in rules {
            assertThrows(.foreignTensor(op: op, expected: "native", found: "opencl"), rule)
        }
    }

    func testMakeTensorRefusesEmptyAndOversizedShapes() throws {
        try OpCheck.makeTensor(Shape(1, Int(Int32.max)))
        assertThrows(.emptyTensor(op: "makeTensor", shape: Shape(0, 3))) { try OpCheck.makeTensor(Shape(0, 3)) }
        assertThrows(.sizeOverflow(op: "makeTensor", detail: "65536×32768 has more than 2³¹−1 elements")) {
            try OpCheck.makeTensor(Shape(1 << 16, 1 << 15))
        }
    }

    func testUploadNeedsOneValuePerElement() throws {
        try OpCheck.upload(valueCount: 15, to: backend.tensor(5, 3), on: backend)
        assertShapeMismatch("upload", mentioning: ["4 values", "5×3", "(15 elements)"]) {
            try OpCheck.upload(valueCount: 4, to: backend.tensor(5, 3), on: backend)
        }
    }

    func testElementwiseRulesNameTheMismatchedOperand() throws {
        let x = backend.tensor(4, 3)
        // copy only needs equal counts: a reshape is a legitimate copy.
        try OpCheck.copy(x, to: backend.tensor(3, 4), on: backend)
        assertShapeMismatch("activationBackward", mentioning: ["output", "gradInput", "3×4"]) {
            try OpCheck.activationBackward(output: x, gradOutput: x, into: backend.tensor(3, 4), on: backend)
        }
        assertShapeMismatch("multiply", mentioning: ["a", "out", "4×4"]) {
            try OpCheck.multiply(x, x, into: backend.tensor(4, 4), on: backend)
        }
        assertShapeMismatch("argmaxRows", mentioning: ["out", "vector of 4"]) {
            try OpCheck.argmaxRows(x, into: backend.tensor(3, 1), on: backend)
        }
    }

    func testDropoutForwardChecksShapesBeforeKeepProbability() throws {
        let x = backend.tensor(4, 3)
        try OpCheck.dropoutForward(x, keepProbability: 1, mask: backend.tensor(4, 3), output: x, on: backend)
        // Both mistakes at once: the shape is reported, on every backend, because it is checked first.
        assertShapeMismatch("dropoutForward", mentioning: ["input", "mask", "3×4"]) {
            try OpCheck.dropoutForward(x, keepProbability: 0, mask: backend.tensor(3, 4), output: x, on: backend)
        }
        assertThrows(.invalidArgument(op: "dropoutForward", detail: "keep probability 0.0 must lie in (0, 1]")) {
            try OpCheck.dropoutForward(x, keepProbability: 0, mask: backend.tensor(4, 3), output: x, on: backend)
        }
    }

    func testSigmoidCrossEntropyNeedsOneLogitPerSample() throws {
        let logits = backend.tensor(6, 2), labels = backend.tensor(6, 1), loss = backend.tensor(1, 1)
        // Two logits per sample are a valid softmax head but not a sigmoid one.
        try OpCheck.softmaxCrossEntropy(logits, labels: labels, gradient: backend.tensor(6, 2), loss: loss, on: backend)
        assertShapeMismatch("sigmoidCrossEntropy", mentioning: ["6×2", "m×1", "softmaxCrossEntropy"]) {
            try OpCheck.sigmoidCrossEntropy(logits, labels: labels, gradient: backend.tensor(6, 2), loss: loss, on: backend)
        }
        try OpCheck.sigmoidCrossEntropy(labels, labels: labels, gradient: backend.tensor(6, 1), loss: loss, on: backend)
    }

    func testBatchNormRulesCheckVectorsThenHyperparameters() throws {
        let x = backend.tensor(8, 4), y = backend.tensor(8, 4), v = backend.tensor(1, 4)
        func training(savedMean: Tensor = v, beta: Float = 0.9, epsilon: Float = 1e-5) throws {
            try OpCheck.batchNormForwardTraining(x, gamma: v, beta: v, runningMean: v, runningVariance: v, averagingBeta: beta,
                                                 epsilon: epsilon, output: y, savedMean: savedMean, savedInverseStd: v, on: backend)
        }
        try training()
        try training(beta: 0)
        try training(beta: 1)
        assertShapeMismatch("batchNormForwardTraining", mentioning: ["savedMean", "1×5"]) {
            try training(savedMean: backend.tensor(1, 5), epsilon: 0)
        }
        for (beta, epsilon) in [(Float(0.9), Float(0)), (0.9, .nan), (1.5, 1e-5), (-0.1, 1e-5)] {
            XCTAssertThrowsError(try training(beta: beta, epsilon: epsilon), "β \(beta), ε \(epsilon)") { error in
                guard case NNError.invalidArgument(op: "batchNormForwardTraining", _) = error else {
                    return XCTFail("expected invalidArgument, got \(error)")
                }
            }
        }
        assertThrows(.invalidArgument(op: "batchNormForwardInference",
                                      detail: "ε = -1.0 must be finite and > 0 (PyTorch's default is 1e-5)")) {
            try OpCheck.batchNormForwardInference(x, gamma: v, beta: v, runningMean: v, runningVariance: v, epsilon: -1,
                                                  output: y, on: backend)
        }
        assertShapeMismatch("batchNormBackward", mentioning: ["input", "gradOutput", "4×8"]) {
            try OpCheck.batchNormBackward(x, gradOutput: backend.tensor(4, 8), gamma: v, savedMean: v, savedInverseStd: v,
                                          gradInput: y, gradGamma: v, gradBeta: v, on: backend)
        }
    }
}
