/// Operand validation shared by every backend, so that a wrong call fails the same way — with the
/// same error case and message naming the op and the shapes — whichever backend runs it.
///
/// Each op of ``Backend`` has its whole rule here, in one function named after the op
/// (``dropoutForward(_:keepProbability:mask:output:on:)``, ``gemm(_:transposeA:_:transposeB:c:on:)``, …),
/// and the op's public entry point (`Backend+<Family>.swift`) calls it once before the backend's
/// `unchecked…` hook. So a rule is changed in one place, no backend can forget it, and every
/// backend throws the same error for the same call. Only checks that follow from one
/// backend's own implementation (OpenCL's Int32 guard on GEMM operands padded to whole panels, the
/// native backend's float32/float64 buffer check) stay in that backend. The building blocks the rules
/// are made of (`usable`, `sameShape`, `vector`, …) stay public for callers validating their own arguments.
///
/// Kernels index with 32-bit integers (OpenCL's `int` is what every device handles fastest), so
/// any tensor or product of dimensions at or above 2³¹ is rejected here instead of wrapping silently.
public enum OpCheck {
    public static let maxElements = Int(Int32.max)

    // MARK: Building blocks

    /// Throws unless `tensor` is non-empty, indexable with Int32, and owned by `backend`.
    public static func usable(_ op: String, _ tensor: Tensor, on backend: any Backend) throws {
        if tensor.count == 0 || tensor.rows <= 0 || tensor.columns <= 0 {
            throw NNError.emptyTensor(op: op, shape: tensor.shape)
        }
        if tensor.rows > maxElements / max(tensor.columns, 1) {
            throw NNError.sizeOverflow(op: op, detail: "\(tensor.shape) has more than 2³¹−1 elements")
        }
        if tensor.storage.backendName != backend.name {
            throw NNError.foreignTensor(op: op, expected: backend.name, found: tensor.storage.backendName)
        }
    }

    public static func usable(_ op: String, _ tensors: [Tensor], on backend: any Backend) throws {
        for t in tensors { try usable(op, t, on: backend) }
    }

    public static func sameShape(_ op: String, _ a: Tensor, _ b: Tensor, _ names: (String, String) = ("a", "b")) throws {
        guard a.shape == b.shape else {
            throw NNError.shapeMismatch(op: op, detail: "\(names.0) is \(a.shape) but \(names.1) is \(b.shape); they must match")
        }
    }

    public static func sameCount(_ op: String, _ a: Tensor, _ b: Tensor) throws {
        guard a.count == b.count else {
            throw NNError.shapeMismatch(op: op, detail: "source is \(a.shape) but destination is \(b.shape); element counts must match")
        }
    }

    /// Throws unless `v` is a 1×n (or n×1) vector of `n` elements.
    public static func vector(_ op: String, _ v: Tensor, named name: String, length n: Int) throws {
        guard v.count == n, v.rows == 1 || v.columns == 1 else {
            throw NNError.shapeMismatch(op: op, detail: "\(name) is \(v.shape) but must be a vector of \(n) values (1×\(n))")
        }
    }

    public static func scalarTensor(_ op: String, _ t: Tensor, named name: String) throws {
        guard t.count == 1 else {
            throw NNError.shapeMismatch(op: op, detail: "\(name) is \(t.shape) but must be 1×1")
        }
    }

    /// Checks the m×n input, its 1×n per-feature vectors, and same-shaped outputs of an op over rows.
    public static func perFeature(_ op: String, input x: Tensor, outputs: [(String, Tensor)],
                                  vectors: [(String, Tensor)], on backend: any Backend) throws {
        try usable(op, x, on: backend)
        for (name, t) in outputs {
            try usable(op, t, on: backend)
            try sameShape(op, x, t, ("input", name))
        }
        for (name, v) in vectors {
            try usable(op, v, on: backend)
            try vector(op, v, named: name, length: x.columns)
        }
    }

    /// Checks logits (m×C), labels (m×1 or 1×m), gradient (like logits) and a 1×1 loss.
    public static func classifierHead(_ op: String, logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor,
                                      on backend: any Backend) throws {
        try usable(op, [logits, labels, gradient, loss], on: backend)
        try vector(op, labels, named: "labels", length: logits.rows)
        try sameShape(op, logits, gradient, ("logits", "gradient"))
        try scalarTensor(op, loss, named: "loss")
    }

    public static func finite(_ op: String, _ values: [(String, Float)]) throws {
        for (name, v) in values where !v.isFinite {
            throw NNError.invalidArgument(op: op, detail: "\(name) is \(v); it must be a finite number")
        }
    }

    /// Batch-norm hyperparameters: ε > 0 and finite; the averaging β (when training) in [0, 1].
    public static func batchNormArguments(_ op: String, epsilon: Float, averagingBeta: Float?) throws {
        guard epsilon > 0, epsilon.isFinite else {
            throw NNError.invalidArgument(op: op, detail: "ε = \(epsilon) must be finite and > 0 (PyTorch's default is 1e-5)")
        }
        if let b = averagingBeta, !(b >= 0 && b <= 1) {
            throw NNError.invalidArgument(op: op, detail: "averaging β = \(b) must lie in [0, 1] (β = 1 − PyTorch's momentum; 0.9 by default)")
        }
    }

    public static func keepProbability(_ op: String, _ keep: Float) throws {
        guard keep > 0, keep <= 1 else {
            throw NNError.invalidArgument(op: op, detail: "keep probability \(keep) must lie in (0, 1]")
        }
    }

    /// Validates one update's values: the rule's hyperparameters (``UpdateRule/validate()``), a learning
    /// rate that is finite and ≥ 0, a step counted from 1, and finite, non-negative penalties.
    public static func rule(_ rule: UpdateRule, learningRate: Float, step: Int, penalty: WeightPenalty) throws {
        let op = "update"
        guard learningRate >= 0, learningRate.isFinite else {
            throw NNError.invalidArgument(op: op, detail: "learning rate \(learningRate) must be finite and ≥ 0")
        }
        guard penalty.l1 >= 0, penalty.l2 >= 0, penalty.l1.isFinite, penalty.l2.isFinite else {
            throw NNError.invalidArgument(op: op, detail: "penalties l2 = \(penalty.l2), l1 = \(penalty.l1) must be finite and ≥ 0")
        }
        try rule.validate()
        guard step >= 1 else { throw NNError.invalidArgument(op: op, detail: "\(rule.name) step \(step) must count from 1") }
    }
}

// MARK: - One rule per Backend op, in the protocol's order

extension OpCheck {
    // MARK: Memory

    /// ``Backend/makeTensor(_:)``: both dimensions ≥ 1 and at most 2³¹−1 elements.
    public static func makeTensor(_ shape: Shape) throws {
        guard shape.rows > 0, shape.columns > 0 else {
            throw NNError.emptyTensor(op: "makeTensor", shape: shape)
        }
        guard shape.rows <= maxElements / shape.columns else {
            throw NNError.sizeOverflow(op: "makeTensor", detail: "\(shape) has more than 2³¹−1 elements")
        }
    }

    /// Both `upload(_:to:)` ops of ``Backend``, Float and Double: one value per element of `tensor`.
    public static func upload(valueCount: Int, to tensor: Tensor, on backend: any Backend) throws {
        try usable("upload", tensor, on: backend)
        guard valueCount == tensor.count else {
            throw NNError.shapeMismatch(op: "upload", detail: "\(valueCount) values for a tensor of shape \(tensor.shape) (\(tensor.count) elements)")
        }
    }

    /// ``Backend/download(_:)`` and ``Backend/downloadDouble(_:)``.
    public static func download(_ tensor: Tensor, on backend: any Backend) throws {
        try usable("download", tensor, on: backend)
    }

    // MARK: Dense algebra

    /// (m, n, k) of C ← op(A)·op(B) for operands ``gemm(_:transposeA:_:transposeB:c:on:)`` has
    /// accepted: what a backend's `uncheckedGemm` hook needs, without validating twice.
    public static func gemmDimensions(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool) -> (m: Int, n: Int, k: Int) {
        (transposeA ? a.columns : a.rows, transposeB ? b.rows : b.columns, transposeA ? a.rows : a.columns)
    }

    /// ``Backend/gemm(_:transposeA:_:transposeB:into:alpha:beta:)``: returns (m, n, k) of
    /// C ← op(A)·op(B) after checking that they agree with C and that C aliases neither operand.
    public static func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, c: Tensor,
                            on backend: any Backend) throws -> (m: Int, n: Int, k: Int) {
        try usable("gemm", [a, b, c], on: backend)
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let kb = transposeB ? b.columns : b.rows
        let n = transposeB ? b.rows : b.columns
        let opA = transposeA ? "Aᵀ" : "A"
        let opB = transposeB ? "Bᵀ" : "B"
        guard k == kb else {
            throw NNError.shapeMismatch(op: "gemm", detail: "\(opA) is \(m)×\(k) and \(opB) is \(kb)×\(n): inner dimensions \(k) and \(kb) differ")
        }
        guard c.rows == m, c.columns == n else {
            throw NNError.shapeMismatch(op: "gemm", detail: "\(opA)·\(opB) is \(m)×\(n) but C is \(c.shape)")
        }
        // C is written while A and B are still being read (in tiles, possibly by other threads).
        guard c.storage !== a.storage, c.storage !== b.storage else {
            throw NNError.invalidArgument(op: "gemm", detail: "C shares storage with A or B; write the product into a separate tensor")
        }
        return (m, n, k)
    }

    /// ``Backend/gemm(_:transposeA:_:transposeB:into:alpha:bias:relu:)``: the gemm rules, and a bias
    /// (when given) with one value per column of C, not sharing C's storage (it is read while C is written).
    @discardableResult
    public static func gemmEpilogue(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, bias: Tensor?, c: Tensor,
                                    on backend: any Backend) throws -> (m: Int, n: Int, k: Int) {
        let dimensions = try gemm(a, transposeA: transposeA, b, transposeB: transposeB, c: c, on: backend)
        if let bias {
            try usable("gemm", [bias], on: backend)
            try vector("gemm", bias, named: "bias", length: dimensions.n)
            guard bias.storage !== c.storage else {
                throw NNError.invalidArgument(op: "gemm", detail: "the bias shares storage with C; pass a separate tensor")
            }
        }
        return dimensions
    }

    /// ``Backend/addRowVector(_:to:)``: `bias` holds one value per column of `x`.
    public static func addRowVector(_ bias: Tensor, to x: Tensor, on backend: any Backend) throws {
        try usable("addRowVector", [bias, x], on: backend)
        try vector("addRowVector", bias, named: "bias", length: x.columns)
    }

    /// ``Backend/columnSums(_:into:alpha:beta:)``: `out` holds one value per column of `x`.
    public static func columnSums(_ x: Tensor, into out: Tensor, on backend: any Backend) throws {
        try usable("columnSums", [x, out], on: backend)
        try vector("columnSums", out, named: "out", length: x.columns)
    }

    /// ``Backend/reduce(_:_:into:accumulate:)``: `out` is 1×1.
    public static func reduce(_ x: Tensor, into out: Tensor, on backend: any Backend) throws {
        try usable("reduce", [x, out], on: backend)
        try scalarTensor("reduce", out, named: "out")
    }

    // MARK: Element-wise

    /// ``Backend/fill(_:with:)``.
    public static func fill(_ x: Tensor, on backend: any Backend) throws {
        try usable("fill", x, on: backend)
    }

    /// ``Backend/copy(_:to:)``: equal element counts; the shapes may differ (a reshape).
    public static func copy(_ from: Tensor, to: Tensor, on backend: any Backend) throws {
        try usable("copy", [from, to], on: backend)
        try sameCount("copy", from, to)
    }

    /// ``Backend/scale(_:by:)``.
    public static func scale(_ x: Tensor, on backend: any Backend) throws {
        try usable("scale", x, on: backend)
    }

    /// ``Backend/axpy(alpha:_:_:)``: x and y of one shape.
    public static func axpy(_ x: Tensor, _ y: Tensor, on backend: any Backend) throws {
        try usable("axpy", [x, y], on: backend)
        try sameShape("axpy", x, y, ("x", "y"))
    }

    /// ``Backend/multiply(_:_:into:)``: a, b and out of one shape.
    public static func multiply(_ a: Tensor, _ b: Tensor, into out: Tensor, on backend: any Backend) throws {
        try usable("multiply", [a, b, out], on: backend)
        try sameShape("multiply", a, b, ("a", "b"))
        try sameShape("multiply", a, out, ("a", "out"))
    }

    /// ``Backend/activationForward(_:_:into:)``: x and y of one shape.
    public static func activationForward(_ x: Tensor, into y: Tensor, on backend: any Backend) throws {
        try usable("activationForward", [x, y], on: backend)
        try sameShape("activationForward", x, y, ("x", "y"))
    }

    /// ``Backend/activationBackward(_:output:gradOutput:into:)``: y, dy and dx of one shape.
    public static func activationBackward(output y: Tensor, gradOutput dy: Tensor, into dx: Tensor,
                                          on backend: any Backend) throws {
        try usable("activationBackward", [y, dy, dx], on: backend)
        try sameShape("activationBackward", y, dy, ("output", "gradOutput"))
        try sameShape("activationBackward", y, dx, ("output", "gradInput"))
    }

    // MARK: Batch normalisation

    /// ``Backend/batchNormForwardTraining(_:gamma:beta:runningMean:runningVariance:averagingBeta:epsilon:output:savedMean:savedInverseStd:)``:
    /// y shaped like x, every other tensor one value per feature, ε > 0, averaging β in [0, 1].
    public static func batchNormForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output y: Tensor, savedMean: Tensor, savedInverseStd: Tensor, on backend: any Backend) throws {
        let op = "batchNormForwardTraining"
        try perFeature(op, input: x, outputs: [("output", y)],
                       vectors: [("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
                                 ("runningVariance", runningVariance), ("savedMean", savedMean),
                                 ("savedInverseStd", savedInverseStd)], on: backend)
        try batchNormArguments(op, epsilon: epsilon, averagingBeta: averagingBeta)
    }

    /// ``Backend/batchNormForwardInference(_:gamma:beta:runningMean:runningVariance:epsilon:output:)``:
    /// y shaped like x, every other tensor one value per feature, ε > 0.
    public static func batchNormForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output y: Tensor, on backend: any Backend) throws {
        let op = "batchNormForwardInference"
        try perFeature(op, input: x, outputs: [("output", y)],
                       vectors: [("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
                                 ("runningVariance", runningVariance)], on: backend)
        try batchNormArguments(op, epsilon: epsilon, averagingBeta: nil)
    }

    /// ``Backend/batchNormBackward(_:gradOutput:gamma:savedMean:savedInverseStd:gradInput:gradGamma:gradBeta:)``:
    /// dy and dx shaped like x, every other tensor one value per feature.
    public static func batchNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor, on backend: any Backend) throws {
        try perFeature("batchNormBackward", input: x, outputs: [("gradOutput", dy), ("gradInput", dx)],
                       vectors: [("gamma", gamma), ("savedMean", savedMean), ("savedInverseStd", savedInverseStd),
                                 ("gradGamma", gradGamma), ("gradBeta", gradBeta)], on: backend)
    }

    /// ``Backend/batchNormBackward(_:reluOutput:gradOutput:gamma:savedMean:savedInverseStd:gradInput:gradGamma:gradBeta:)``:
    /// the ``batchNormBackward(_:gradOutput:gamma:savedMean:savedInverseStd:gradInput:gradGamma:gradBeta:on:)``
    /// rules, z shaped like x, and a dx that shares storage with neither x nor z: both are read again
    /// after the first elements of dx are written (a composed backward writes the masked gradient
    /// into dx before the batch-norm backward reads x).
    public static func batchNormReLUBackward(
        _ x: Tensor, output z: Tensor, gradOutput dz: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor, on backend: any Backend) throws {
        let op = "batchNormBackward"
        try perFeature(op, input: x, outputs: [("reluOutput", z), ("gradOutput", dz), ("gradInput", dx)],
                       vectors: [("gamma", gamma), ("savedMean", savedMean), ("savedInverseStd", savedInverseStd),
                                 ("gradGamma", gradGamma), ("gradBeta", gradBeta)], on: backend)
        guard dx.storage !== x.storage, dx.storage !== z.storage else {
            throw NNError.invalidArgument(op: op, detail: "gradInput shares storage with the input or the ReLU output, "
                                          + "which are read after it is written; pass a separate tensor (it may be gradOutput)")
        }
    }

    // MARK: Classifier heads

    /// ``Backend/softmax(_:into:)``: x and y of one shape.
    public static func softmax(_ x: Tensor, into y: Tensor, on backend: any Backend) throws {
        try usable("softmax", [x, y], on: backend)
        try sameShape("softmax", x, y, ("x", "y"))
    }

    /// ``Backend/softmaxCrossEntropy(_:labels:gradient:loss:)``: see ``classifierHead(_:logits:labels:gradient:loss:on:)``.
    public static func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor,
                                           on backend: any Backend) throws {
        try classifierHead("softmaxCrossEntropy", logits: logits, labels: labels, gradient: gradient, loss: loss, on: backend)
    }

    /// ``Backend/softmaxCrossEntropy(_:labels:gradient:loss:lossSum:correctCount:)``: the head's rules,
    /// 1×1 totals, and loss, lossSum and correctCount three separate tensors (each is computed from
    /// the others' old or new values, which a shared storage would mix).
    public static func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor,
                                           lossSum: Tensor, correctCount: Tensor, on backend: any Backend) throws {
        let op = "softmaxCrossEntropy"
        try classifierHead(op, logits: logits, labels: labels, gradient: gradient, loss: loss, on: backend)
        try usable(op, [lossSum, correctCount], on: backend)
        try scalarTensor(op, lossSum, named: "lossSum")
        try scalarTensor(op, correctCount, named: "correctCount")
        guard loss.storage !== lossSum.storage, loss.storage !== correctCount.storage, lossSum.storage !== correctCount.storage else {
            throw NNError.invalidArgument(op: op, detail: "loss, lossSum and correctCount share storage; pass three separate 1×1 tensors")
        }
    }

    /// ``Backend/sigmoidCrossEntropy(_:labels:gradient:loss:)``: a classifier head whose logits are m×1.
    public static func sigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor,
                                           on backend: any Backend) throws {
        let op = "sigmoidCrossEntropy"
        try classifierHead(op, logits: logits, labels: labels, gradient: gradient, loss: loss, on: backend)
        guard logits.columns == 1 else {
            throw NNError.shapeMismatch(op: op, detail: "logits are \(logits.shape) but must be m×1 (one logit per sample); "
                                        + "for several classes use softmaxCrossEntropy")
        }
    }

    /// ``Backend/argmaxRows(_:into:)``: `out` holds one value per row of `x`.
    public static func argmaxRows(_ x: Tensor, into out: Tensor, on backend: any Backend) throws {
        try usable("argmaxRows", [x, out], on: backend)
        try vector("argmaxRows", out, named: "out", length: x.rows)
    }

    /// ``Backend/accumulateArgmaxMatches(_:labels:into:)``: one label per row of `x`, a 1×1 count.
    public static func accumulateArgmaxMatches(_ x: Tensor, labels: Tensor, into count: Tensor, on backend: any Backend) throws {
        let op = "accumulateArgmaxMatches"
        try usable(op, [x, labels, count], on: backend)
        try vector(op, labels, named: "labels", length: x.rows)
        try scalarTensor(op, count, named: "count")
    }

    // MARK: Dropout

    /// ``Backend/dropoutForward(_:keepProbability:seed:offset:mask:output:)``: mask and y shaped
    /// like x, keep probability in (0, 1].
    public static func dropoutForward(_ x: Tensor, keepProbability: Float, mask: Tensor, output y: Tensor,
                                      on backend: any Backend) throws {
        let op = "dropoutForward"
        try usable(op, [x, mask, y], on: backend)
        try sameShape(op, x, mask, ("input", "mask"))
        try sameShape(op, x, y, ("input", "output"))
        try self.keepProbability(op, keepProbability)
    }

    // MARK: Optimisers

    /// ``Backend/update(_:learningRate:step:penalty:parameter:gradient:state:)``: valid values (``rule(_:learningRate:step:penalty:)``),
    /// then the gradient and the rule's state tensors, as many as it keeps, all shaped like the parameter.
    public static func update(_ rule: UpdateRule, learningRate: Float, step: Int, penalty: WeightPenalty, parameter: Tensor,
                              gradient: Tensor, state: [Tensor], on backend: any Backend) throws {
        try self.rule(rule, learningRate: learningRate, step: step, penalty: penalty)
        try usable("update", [parameter, gradient] + state, on: backend)
        try sameShape("update", parameter, gradient, ("parameter", "gradient"))
        guard state.count == rule.stateCount else {
            throw NNError.invalidArgument(op: "update", detail: "rule needs \(rule.stateCount) state tensors, got \(state.count)")
        }
        for s in state { try sameShape("update", parameter, s, ("parameter", "state")) }
    }
}
