/// Operand validation shared by every backend, so that a wrong call fails the same way — with the
/// same message naming the op and the shapes — whichever backend runs it.
///
/// Kernels index with 32-bit integers (OpenCL's `int` is what every device handles fastest), so
/// any tensor or product of dimensions at or above 2³¹ is rejected here instead of wrapping silently.
public enum OpCheck {
    public static let maxElements = Int(Int32.max)

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

    /// Dimensions of C ← op(A)·op(B): returns (m, n, k) after checking that they agree with C.
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

    public static func finite(_ op: String, _ values: [(String, Float)]) throws {
        for (name, v) in values where !v.isFinite {
            throw NNError.invalidArgument(op: op, detail: "\(name) is \(v); it must be a finite number")
        }
    }

    /// Validates hyperparameters of an update rule: a learning rate ≥ 0, β in [0, 1), ε > 0, step ≥ 1.
    public static func rule(_ rule: UpdateRule, penalty: WeightPenalty) throws {
        let op = "update"
        func beta(_ name: String, _ b: Float) throws {
            guard b >= 0, b < 1 else {
                throw NNError.invalidArgument(op: op, detail: "\(name) = \(b) must lie in [0, 1)")
            }
        }
        guard rule.learningRate >= 0, rule.learningRate.isFinite else {
            throw NNError.invalidArgument(op: op, detail: "learning rate \(rule.learningRate) must be finite and ≥ 0")
        }
        guard penalty.l1 >= 0, penalty.l2 >= 0, penalty.l1.isFinite, penalty.l2.isFinite else {
            throw NNError.invalidArgument(op: op, detail: "penalties l2 = \(penalty.l2), l1 = \(penalty.l1) must be finite and ≥ 0")
        }
        switch rule {
        case .sgd: break
        case let .momentum(_, b): try beta("β", b)
        case let .rmsprop(_, b, eps):
            try beta("β", b)
            guard eps > 0 else { throw NNError.invalidArgument(op: op, detail: "ε = \(eps) must be > 0") }
        case let .adam(_, b1, b2, eps, step):
            try beta("β₁", b1)
            try beta("β₂", b2)
            guard eps > 0 else { throw NNError.invalidArgument(op: op, detail: "ε = \(eps) must be > 0") }
            guard step >= 1 else { throw NNError.invalidArgument(op: op, detail: "Adam step \(step) must count from 1") }
        }
    }

    /// Shape checks for an optimiser update: gradient and every state tensor shaped like the parameter.
    public static func update(_ rule: UpdateRule, penalty: WeightPenalty, parameter: Tensor, gradient: Tensor,
                              state: [Tensor], on backend: any Backend) throws {
        try self.rule(rule, penalty: penalty)
        try usable("update", [parameter, gradient] + state, on: backend)
        try sameShape("update", parameter, gradient, ("parameter", "gradient"))
        guard state.count == rule.stateCount else {
            throw NNError.invalidArgument(op: "update", detail: "rule needs \(rule.stateCount) state tensors, got \(state.count)")
        }
        for s in state { try sameShape("update", parameter, s, ("parameter", "state")) }
    }

    /// Checks logits (m×C), labels (m×1 or 1×m), gradient (like logits) and a 1×1 loss.
    public static func classifierHead(_ op: String, logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor,
                                      on backend: any Backend) throws {
        try usable(op, [logits, labels, gradient, loss], on: backend)
        try vector(op, labels, named: "labels", length: logits.rows)
        try sameShape(op, logits, gradient, ("logits", "gradient"))
        try scalarTensor(op, loss, named: "loss")
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
}
