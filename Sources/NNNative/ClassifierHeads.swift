import NNCore

/// Softmax and the fused losses. Each row is independent, so rows are split across threads;
/// every row subtracts its max before exponentiating and sums the exponentials in `Double`.
extension NativeBackend {
    public func softmax(_ x: Tensor, into y: Tensor) throws {
        try OpCheck.usable("softmax", [x, y], on: self)
        try OpCheck.sameShape("softmax", x, y, ("x", "y"))
        switch precision {
        case .float32: try softmax(Float.self, x, y)
        case .float64: try softmax(Double.self, x, y)
        }
    }

    public func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        try OpCheck.classifierHead("softmaxCrossEntropy", logits: logits, labels: labels, gradient: gradient, loss: loss, on: self)
        switch precision {
        case .float32: try softmaxCrossEntropy(Float.self, logits, labels, gradient, loss)
        case .float64: try softmaxCrossEntropy(Double.self, logits, labels, gradient, loss)
        }
    }

    public func sigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        let op = "sigmoidCrossEntropy"
        try OpCheck.classifierHead(op, logits: logits, labels: labels, gradient: gradient, loss: loss, on: self)
        guard logits.columns == 1 else {
            throw NNError.shapeMismatch(op: op, detail: "logits are \(logits.shape) but must be m×1 (one logit per sample); "
                                        + "for several classes use softmaxCrossEntropy")
        }
        switch precision {
        case .float32: try sigmoidCrossEntropy(Float.self, logits, labels, gradient, loss)
        case .float64: try sigmoidCrossEntropy(Double.self, logits, labels, gradient, loss)
        }
    }

    // MARK: Kernels

    private func softmax<T: NativeScalar>(_: T.Type, _ x: Tensor, _ y: Tensor) throws {
        let xp = SendablePointer(try pointer(x, T.self, "softmax"))
        let yp = SendablePointer(try pointer(y, T.self, "softmax"))
        let n = x.columns
        splitter.forEachRange(x.rows, costPerItem: 16 * n) { rows in
            for i in rows {
                let xr = xp.p + i * n, yr = yp.p + i * n
                let top = Self.rowMax(xr, n)
                var sum = 0.0
                for j in 0..<n {
                    let e = T.exp(xr[j] - top)
                    yr[j] = e
                    sum += e.wide
                }
                let inverse = T(1 / sum)
                for j in 0..<n { yr[j] *= inverse }
            }
        }
    }

    private func softmaxCrossEntropy<T: NativeScalar>(_: T.Type, _ logits: Tensor, _ labels: Tensor,
                                                      _ gradient: Tensor, _ loss: Tensor) throws {
        let op = "softmaxCrossEntropy"
        let zp = SendablePointer(try pointer(logits, T.self, op))
        let lp = SendablePointer(try pointer(labels, T.self, op))
        let gp = SendablePointer(try pointer(gradient, T.self, op))
        let outp = try pointer(loss, T.self, op)
        let m = logits.rows, n = logits.columns
        let inverseM = 1 / Double(m)
        let total = columnAccumulate(rows: m, columns: 1, passes: 16 * n) { rows, acc in
            var lossSum = 0.0
            for i in rows {
                let zr = zp.p + i * n, gr = gp.p + i * n
                let top = Self.rowMax(zr, n)
                var sum = 0.0
                for j in 0..<n {
                    let e = T.exp(zr[j] - top)
                    gr[j] = e
                    sum += e.wide
                }
                let scale = T(inverseM / sum)
                for j in 0..<n { gr[j] *= scale }
                // −log ŷ[label] = log Σ exp(z − max) − (z[label] − max): finite even when ŷ underflows.
                let label = lp.p[i]
                if let c = Self.classIndex(label, classes: n) {
                    gr[c] -= T(inverseM)
                    lossSum += Double.log(sum) - (zr[c] - top).wide
                } else {
                    lossSum = .nan
                }
            }
            acc[0] = lossSum
        }[0]
        outp[0] = T(total * inverseM)
    }

    private func sigmoidCrossEntropy<T: NativeScalar>(_: T.Type, _ logits: Tensor, _ labels: Tensor,
                                                      _ gradient: Tensor, _ loss: Tensor) throws {
        let op = "sigmoidCrossEntropy"
        let zp = SendablePointer(try pointer(logits, T.self, op))
        let lp = SendablePointer(try pointer(labels, T.self, op))
        let gp = SendablePointer(try pointer(gradient, T.self, op))
        let outp = try pointer(loss, T.self, op)
        let m = logits.rows
        let inverseM = T(1 / Double(m))
        let total = columnAccumulate(rows: m, columns: 1, passes: 32) { rows, acc in
            var lossSum = 0.0
            for i in rows {
                let z = zp.p[i], y = lp.p[i]
                // softplus(z) = max(z, 0) + log1p(exp(−|z|)) never overflows.
                let softplus = max(z, 0) + T.log1p(T.exp(-abs(z)))
                lossSum += (softplus - y * z).wide
                // σ(z) from exp(−|z|) as well, so neither branch overflows.
                let e = T.exp(-abs(z))
                let sigma = z >= 0 ? 1 / (1 + e) : e / (1 + e)
                gp.p[i] = (sigma - y) * inverseM
            }
            acc[0] = lossSum
        }[0]
        outp[0] = T(total / Double(m))
    }

    @inline(__always)
    static func rowMax<T: NativeScalar>(_ row: UnsafeMutablePointer<T>, _ n: Int) -> T {
        var top = row[0]
        for j in 1..<max(n, 1) where row[j] > top { top = row[j] }
        return top
    }

    /// The class a label encodes, or nil unless it is an exact integer in 0..<classes.
    @inline(__always)
    static func classIndex<T: NativeScalar>(_ label: T, classes: Int) -> Int? {
        guard label >= 0, label < T(Float(classes)), label.rounded(.towardZero) == label else { return nil }
        return Int(label)
    }
}
