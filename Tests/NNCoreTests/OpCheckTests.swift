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
        let valid: [UpdateRule] = [
            .sgd(learningRate: 0.1), .sgd(learningRate: 0),
            .momentum(learningRate: 0.1, beta: 0.9), .rmsprop(learningRate: 0.01, beta: 0.99, epsilon: 1e-8),
            .adam(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1),
        ]
        for rule in valid { try OpCheck.rule(rule, penalty: WeightPenalty(l2: 0.01, l1: 0.001)) }
        let invalid: [(UpdateRule, WeightPenalty, String)] = [
            (.sgd(learningRate: -0.1), .none, "learning rate"),
            (.sgd(learningRate: .infinity), .none, "learning rate"),
            (.sgd(learningRate: 0.1), WeightPenalty(l2: -1), "penalties"),
            (.sgd(learningRate: 0.1), WeightPenalty(l1: .nan), "penalties"),
            (.momentum(learningRate: 0.1, beta: 1), .none, "β"),
            (.momentum(learningRate: 0.1, beta: -0.5), .none, "β"),
            (.rmsprop(learningRate: 0.1, beta: 0.9, epsilon: 0), .none, "ε"),
            (.adam(learningRate: 0.1, beta1: 0.9, beta2: 1.5, epsilon: 1e-8, step: 1), .none, "β₂"),
            (.adam(learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 0), .none, "step"),
        ]
        for (rule, penalty, fragment) in invalid {
            XCTAssertThrowsError(try OpCheck.rule(rule, penalty: penalty), "\(rule)") { error in
                guard case let NNError.invalidArgument(op, detail) = error else {
                    return XCTFail("expected invalidArgument for \(rule), got \(error)")
                }
                XCTAssertEqual(op, "update")
                XCTAssert(detail.contains(fragment), "'\(detail)' should mention '\(fragment)'")
            }
        }
    }

    func testUpdateStateCountAndShapes() throws {
        let w = backend.tensor(3, 4), g = backend.tensor(3, 4)
        let adam = UpdateRule.adam(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1)
        XCTAssertEqual(adam.stateCount, 2)
        XCTAssertEqual(UpdateRule.sgd(learningRate: 1).stateCount, 0)
        XCTAssertEqual(UpdateRule.momentum(learningRate: 1, beta: 0.9).stateCount, 1)
        XCTAssertEqual(adam.learningRate, 1e-3)
        try OpCheck.update(adam, penalty: .none, parameter: w, gradient: g,
                           state: [backend.tensor(3, 4), backend.tensor(3, 4)], on: backend)
        XCTAssertThrowsError(try OpCheck.update(adam, penalty: .none, parameter: w, gradient: g,
                                                state: [backend.tensor(3, 4)], on: backend)) { error in
            guard case NNError.invalidArgument(op: "update", _) = error else { return XCTFail("got \(error)") }
        }
        assertShapeMismatch("update", mentioning: ["parameter", "state"]) {
            try OpCheck.update(adam, penalty: .none, parameter: w, gradient: g,
                               state: [backend.tensor(3, 4), backend.tensor(4, 3)], on: backend)
        }
        assertShapeMismatch("update", mentioning: ["parameter", "gradient"]) {
            try OpCheck.update(.sgd(learningRate: 1), penalty: .none, parameter: w, gradient: backend.tensor(4, 3),
                               state: [], on: backend)
        }
    }

    func testFiniteRejectsNaNAndInfinity() throws {
        try OpCheck.finite("scale", [("alpha", 2)])
        XCTAssertThrowsError(try OpCheck.finite("scale", [("alpha", .nan)]))
        XCTAssertThrowsError(try OpCheck.finite("scale", [("alpha", -.infinity)]))
    }
}
