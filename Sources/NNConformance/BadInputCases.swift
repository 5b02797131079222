import Foundation
import NNCore

/// Wrong calls are thrown NNErrors of the right case on every backend, never traps.
enum BadInputCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(.badInput, "mismatchedShapes", mismatchedShapes),
        ConformanceCase(.badInput, "wrongLengthLabels", wrongLengthLabels),
        ConformanceCase(.badInput, "emptyTensor", emptyTensor),
        ConformanceCase(.badInput, "foreignTensor", foreignTensor),
        ConformanceCase(.badInput, "dropoutKeepProbabilityOutOfRange", dropoutKeepProbabilityOutOfRange),
        ConformanceCase(.badInput, "invalidOptimiserArguments", invalidOptimiserArguments),
        ConformanceCase(.badInput, "batchNormReLUArguments", batchNormReLUArguments),
    ]

    private static func isShapeMismatch(_ e: NNError) -> Bool {
        if case .shapeMismatch = e { return true }
        return false
    }

    private static func isEmpty(_ e: NNError) -> Bool {
        if case .emptyTensor = e { return true }
        return false
    }

    private static func isInvalidArgument(_ e: NNError) -> Bool {
        if case .invalidArgument = e { return true }
        return false
    }

    static func mismatchedShapes(_ b: ConformanceContext) throws {
        let be = b.backend
        let a = try be.makeTensor(Shape(5, 3)), wrong = try be.makeTensor(Shape(4, 7)), c = try be.makeTensor(Shape(5, 7))
        assertThrowsNNError("gemm with inner dimensions 3 and 4", on: b, {
            try be.gemm(a, transposeA: false, wrong, transposeB: false, into: c, alpha: 1, beta: 0)
        }, matches: isShapeMismatch)
        assertThrowsNNError("gemm into a C of the wrong shape", on: b, {
            try be.gemm(a, transposeA: false, try be.makeTensor(Shape(3, 7)), transposeB: false,
                        into: try be.makeTensor(Shape(7, 5)), alpha: 1, beta: 0)
        }, matches: isShapeMismatch)
        assertThrowsNNError("multiply 5×3 by 3×5", on: b, {
            try be.multiply(a, try be.makeTensor(Shape(3, 5)), into: a)
        }, matches: isShapeMismatch)
        assertThrowsNNError("axpy 5×3 into 4×7", on: b, { try be.axpy(alpha: 1, a, wrong) }, matches: isShapeMismatch)
        assertThrowsNNError("copy 15 elements into 28", on: b, { try be.copy(a, to: wrong) }, matches: isShapeMismatch)
        assertThrowsNNError("addRowVector with a 1×4 bias on 5×3", on: b, {
            try be.addRowVector(try be.makeTensor(.vector(4)), to: a)
        }, matches: isShapeMismatch)
        assertThrowsNNError("columnSums of 5×3 into 1×5", on: b, {
            try be.columnSums(a, into: try be.makeTensor(.vector(5)), alpha: 1, beta: 0)
        }, matches: isShapeMismatch)
        assertThrowsNNError("reduce into a 1×2 output", on: b, {
            try be.reduce(.sum, a, into: try be.makeTensor(.vector(2)), accumulate: false)
        }, matches: isShapeMismatch)
        assertThrowsNNError("activationForward 5×3 into 4×7", on: b, {
            try be.activationForward(.relu, a, into: wrong)
        }, matches: isShapeMismatch)
        assertThrowsNNError("softmax 5×3 into 3×5", on: b, {
            try be.softmax(a, into: try be.makeTensor(Shape(3, 5)))
        }, matches: isShapeMismatch)
        assertThrowsNNError("argmaxRows of 5×3 into 3×1", on: b, {
            try be.argmaxRows(a, into: try be.makeTensor(Shape(3, 1)))
        }, matches: isShapeMismatch)
        assertThrowsNNError("accumulateArgmaxMatches of 5×3 with 3 labels", on: b, {
            try be.accumulateArgmaxMatches(a, labels: try be.makeTensor(Shape(3, 1)), into: try be.makeTensor(.scalar))
        }, matches: isShapeMismatch)
        assertThrowsNNError("accumulateArgmaxMatches into a 1×2 count", on: b, {
            try be.accumulateArgmaxMatches(a, labels: try be.makeTensor(Shape(5, 1)), into: try be.makeTensor(.vector(2)))
        }, matches: isShapeMismatch)
        let v3 = try be.makeTensor(.vector(3)), v4 = try be.makeTensor(.vector(4))
        assertThrowsNNError("batchNormForwardTraining with a 1×4 γ on 5×3", on: b, {
            try be.batchNormForwardTraining(a, gamma: v4, beta: v3, runningMean: v3, runningVariance: v3,
                                            averagingBeta: 0.9, epsilon: 1e-5, output: try be.makeTensor(Shape(5, 3)),
                                            savedMean: v3, savedInverseStd: v3)
        }, matches: isShapeMismatch)
        assertThrowsNNError("batchNormBackward with dy of the wrong shape", on: b, {
            try be.batchNormBackward(a, gradOutput: wrong, gamma: v3, savedMean: v3, savedInverseStd: v3,
                                     gradInput: try be.makeTensor(Shape(5, 3)), gradGamma: v3, gradBeta: v3)
        }, matches: isShapeMismatch)
        assertThrowsNNError("update with a gradient of the wrong shape", on: b, {
            try be.update(.sgd, learningRate: 0.1, penalty: .none, parameter: a, gradient: wrong, state: [])
        }, matches: isShapeMismatch)
        assertThrowsNNError("upload of 4 values into 5×3", on: b, { try be.upload([Float](repeating: 0, count: 4), to: a) },
                            matches: isShapeMismatch)
    }

    static func wrongLengthLabels(_ b: ConformanceContext) throws {
        let be = b.backend
        let logits = try be.makeTensor(Shape(6, 4)), gradient = try be.makeTensor(Shape(6, 4)), loss = try be.makeTensor(.scalar)
        assertThrowsNNError("softmaxCrossEntropy with 5 labels for 6 rows", on: b, {
            try be.softmaxCrossEntropy(logits, labels: try be.makeTensor(Shape(5, 1)), gradient: gradient, loss: loss)
        }, matches: isShapeMismatch)
        let labels = try be.makeTensor(Shape(6, 1)), lossSum = try be.makeTensor(.scalar), count = try be.makeTensor(.scalar)
        assertThrowsNNError("softmaxCrossEntropy with totals and 5 labels for 6 rows", on: b, {
            try be.softmaxCrossEntropy(logits, labels: try be.makeTensor(Shape(5, 1)), gradient: gradient, loss: loss,
                                       lossSum: lossSum, correctCount: count)
        }, matches: isShapeMismatch)
        assertThrowsNNError("softmaxCrossEntropy with a 1×2 loss sum", on: b, {
            try be.softmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss, lossSum: try be.makeTensor(.vector(2)),
                                       correctCount: count)
        }, matches: isShapeMismatch)
        assertThrowsNNError("softmaxCrossEntropy with the loss sum in the loss's place", on: b, {
            try be.softmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss, lossSum: loss, correctCount: count)
        }, matches: isInvalidArgument)
        assertThrowsNNError("softmaxCrossEntropy with one tensor for both totals", on: b, {
            try be.softmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss, lossSum: count, correctCount: count)
        }, matches: isInvalidArgument)
        let z = try be.makeTensor(Shape(6, 1))
        assertThrowsNNError("sigmoidCrossEntropy with 7 labels for 6 rows", on: b, {
            try be.sigmoidCrossEntropy(z, labels: try be.makeTensor(Shape(7, 1)), gradient: try be.makeTensor(Shape(6, 1)), loss: loss)
        }, matches: isShapeMismatch)
    }

    /// Shape(0, 3) is refused either when it is allocated or, for a view with no elements over real
    /// storage, by the op itself.
    static func emptyTensor(_ b: ConformanceContext) throws {
        let be = b.backend
        do {
            let empty = try be.makeTensor(Shape(0, 3))
            try be.fill(empty, with: 1)
            b.fail("[\(b.label)] an empty Shape(0, 3) tensor was allocated and filled without an error")
        } catch let error as NNError {
            b.expect(isEmpty(error), "[\(b.label)] makeTensor/fill of Shape(0, 3): wrong error case: \(error)")
        }
        let storage = try be.makeTensor(Shape(2, 3)).storage
        let emptyView = Tensor(shape: Shape(0, 3), storage: storage)
        let full = try be.makeTensor(Shape(2, 3))
        assertThrowsNNError("fill of an empty 0×3 view", on: b, { try be.fill(emptyView, with: 1) }, matches: isEmpty)
        assertThrowsNNError("softmax of an empty 0×3 view", on: b, { try be.softmax(emptyView, into: emptyView) }, matches: isEmpty)
        assertThrowsNNError("columnSums of an empty 0×3 view", on: b, {
            try be.columnSums(emptyView, into: try be.makeTensor(.vector(3)), alpha: 1, beta: 0)
        }, matches: isEmpty)
        assertThrowsNNError("gemm with an empty operand", on: b, {
            try be.gemm(Tensor(shape: Shape(2, 0), storage: storage), transposeA: false, Tensor(shape: Shape(0, 3), storage: storage),
                        transposeB: false, into: full, alpha: 1, beta: 0)
        }, matches: isEmpty)
        assertThrowsNNError("download of an empty 0×3 view", on: b, { _ = try be.download(emptyView) }, matches: isEmpty)
    }

    /// A tensor made by another backend: always one of a stand-in backend that exists only in this
    /// suite, and one of every peer the suite runs beside (the test target passes the other real
    /// backends, including a native backend of the other precision: same name, other element type).
    static func foreignTensor(_ b: ConformanceContext) throws {
        let be = b.backend
        let own = try be.makeTensor(Shape(2, 3))
        let strangers = [(label: "stand-in", tensor: Tensor(shape: Shape(2, 3), storage: ForeignStorage()))]
            + (try b.peers.map { (label: $0.label, tensor: try $0.backend.makeTensor(Shape(2, 3))) })
        for (label, foreign) in strangers {
            let what = "a \(label) tensor given to \(b.label)"
            let isForeign: (NNError) -> Bool = { if case .foreignTensor = $0 { return true }; return false }
            assertThrowsNNError("copy from " + what, on: b, { try be.copy(foreign, to: own) }, matches: isForeign)
            assertThrowsNNError("axpy with " + what, on: b, { try be.axpy(alpha: 1, own, foreign) }, matches: isForeign)
            assertThrowsNNError("download of " + what, on: b, { _ = try be.download(foreign) }, matches: isForeign)
            assertThrowsNNError("gemm with " + what, on: b, {
                try be.gemm(foreign, transposeA: false, try be.makeTensor(Shape(3, 2)), transposeB: false,
                            into: try be.makeTensor(Shape(2, 2)), alpha: 1, beta: 0)
            }, matches: isForeign)
        }
    }

    static func dropoutKeepProbabilityOutOfRange(_ b: ConformanceContext) throws {
        let be = b.backend
        let x = try be.makeTensor(Shape(4, 4)), mask = try be.makeTensor(Shape(4, 4)), y = try be.makeTensor(Shape(4, 4))
        for keep: Float in [0, -0.5, 1.5, .nan] {
            assertThrowsNNError("dropout with keep probability \(keep)", on: b, {
                try be.dropoutForward(x, keepProbability: keep, seed: 1, offset: 0, mask: mask, output: y)
            }, matches: isInvalidArgument)
        }
    }

    static func invalidOptimiserArguments(_ b: ConformanceContext) throws {
        let be = b.backend
        let w = try be.makeTensor(Shape(3, 3)), g = try be.makeTensor(Shape(3, 3)), s = try be.makeTensor(Shape(3, 3))
        assertThrowsNNError("sgd with a negative learning rate", on: b, {
            try be.update(.sgd, learningRate: -0.01, penalty: .none, parameter: w, gradient: g, state: [])
        }, matches: isInvalidArgument)
        assertThrowsNNError("adam with a negative learning rate", on: b, {
            try be.update(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), learningRate: -1e-3, step: 1, penalty: .none,
                          parameter: w, gradient: g, state: [s, try be.makeTensor(Shape(3, 3))])
        }, matches: isInvalidArgument)
        assertThrowsNNError("momentum without its state tensor", on: b, {
            try be.update(.momentum(beta: 0.9), learningRate: 0.1, penalty: .none, parameter: w, gradient: g, state: [])
        }, matches: isInvalidArgument)
        assertThrowsNNError("a negative L2 penalty", on: b, {
            try be.update(.sgd, learningRate: 0.1, penalty: WeightPenalty(l2: -0.1), parameter: w, gradient: g, state: [])
        }, matches: isInvalidArgument)
        assertThrowsNNError("adam at step 0", on: b, {
            try be.update(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), learningRate: 1e-3, step: 0, penalty: .none,
                          parameter: w, gradient: g, state: [s, try be.makeTensor(Shape(3, 3))])
        }, matches: isInvalidArgument)
    }

    /// The fused batch-norm + ReLU ops: the forward ops keep their rules with `relu: true`; the
    /// backward refuses a ReLU output of the wrong shape, and a gradInput that shares storage with
    /// the input or the ReLU output (both are read after dx is first written).
    static func batchNormReLUArguments(_ b: ConformanceContext) throws {
        let be = b.backend
        let x = try be.makeTensor(Shape(5, 3)), z = try be.makeTensor(Shape(5, 3)), dz = try be.makeTensor(Shape(5, 3))
        let dx = try be.makeTensor(Shape(5, 3))
        let v3 = try be.makeTensor(.vector(3)), v4 = try be.makeTensor(.vector(4))
        try be.fill(v3, with: 1)
        assertThrowsNNError("batchNormForwardTraining(relu) with a 1×4 β on 5×3", on: b, {
            try be.batchNormForwardTraining(x, gamma: v3, beta: v4, runningMean: v3, runningVariance: v3,
                                            averagingBeta: 0.9, epsilon: 1e-5, output: z, savedMean: v3,
                                            savedInverseStd: v3, relu: true)
        }, matches: isShapeMismatch)
        assertThrowsNNError("batchNormForwardInference(relu) with ε = 0", on: b, {
            try be.batchNormForwardInference(x, gamma: v3, beta: v3, runningMean: v3, runningVariance: v3, epsilon: 0,
                                             output: z, relu: true)
        }, matches: isInvalidArgument)
        assertThrowsNNError("batchNormBackward(relu) with a 4×3 ReLU output for a 5×3 input", on: b, {
            try be.batchNormBackward(x, reluOutput: try be.makeTensor(Shape(4, 3)), gradOutput: dz, gamma: v3, savedMean: v3,
                                     savedInverseStd: v3, gradInput: dx, gradGamma: v3, gradBeta: v3)
        }, matches: isShapeMismatch)
        assertThrowsNNError("batchNormBackward(relu) with a 1×4 γ on 5×3", on: b, {
            try be.batchNormBackward(x, reluOutput: z, gradOutput: dz, gamma: v4, savedMean: v3,
                                     savedInverseStd: v3, gradInput: dx, gradGamma: v3, gradBeta: v3)
        }, matches: isShapeMismatch)
        assertThrowsNNError("batchNormBackward(relu) writing dx over the input", on: b, {
            try be.batchNormBackward(x, reluOutput: z, gradOutput: dz, gamma: v3, savedMean: v3,
                                     savedInverseStd: v3, gradInput: x, gradGamma: v3, gradBeta: v3)
        }, matches: isInvalidArgument)
        assertThrowsNNError("batchNormBackward(relu) writing dx over the ReLU output", on: b, {
            try be.batchNormBackward(x, reluOutput: z, gradOutput: dz, gamma: v3, savedMean: v3,
                                     savedInverseStd: v3, gradInput: z, gradGamma: v3, gradBeta: v3)
        }, matches: isInvalidArgument)
    }
}
