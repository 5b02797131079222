import NNCore

/// Softmax and the fused losses. Each row is independent, so rows are split across threads;
/// every row subtracts its max before exponentiating and sums the exponentials in `Double`.
extension NativeBackend {
    public func uncheckedArgmaxRows(_ x: Tensor, into out: Tensor) throws {
        switch precision {
        case .float32: try argmaxRows(Float.self, x, out)
        case .float64: try argmaxRows(Double.self, x, out)
        }
    }

    public func uncheckedAccumulateArgmaxMatches(_ x: Tensor, labels: Tensor, into count: Tensor) throws {
        switch precision {
        case .float32: try accumulateArgmaxMatches(Float.self, x, labels, count)
        case .float64: try accumulateArgmaxMatches(Double.self, x, labels, count)
        }
    }

    public func uncheckedSoftmax(_ x: Tensor, into y: Tensor) throws {
        switch precision {
        case .float32: try softmax(Float.self, x, y)
        case .float64: try softmax(Double.self, x, y)
        }
    }

    public func uncheckedSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        switch precision {
        case .float32: try softmaxCrossEntropy(Float.self, logits, labels, gradient, loss)
        case .float64: try softmaxCrossEntropy(Double.self, logits, labels, gradient, loss)
        }
    }

    public func uncheckedSigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
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
        let vectorised = VectorKernels.applies(kernels, T.self)
        splitter.forEachRange(x.rows, costPerItem: 4 * n) { rows in
            for i in rows {
                Self.softmaxRow(xp.p + i * n, into: yp.p + i * n, n, vectorised: vectorised) { sum in T(1 / sum) }
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
        let vectorised = VectorKernels.applies(kernels, T.self)
        let total = columnAccumulate(rows: m, width: 1, costPerRow: 4 * n) { rows, acc in
            var lossSum = 0.0
            for i in rows {
                let zr = zp.p + i * n, gr = gp.p + i * n
                let (top, sum) = Self.softmaxRow(zr, into: gr, n, vectorised: vectorised) { sum in T(inverseM / sum) }
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

    /// y = factor(Σ) · exp(x − max x) for one row of `n`, by the C loops when `vectorised` (the same
    /// bits), returning the row's max and Σⱼ exp(x[j] − max x).
    @inline(__always) @discardableResult
    static func softmaxRow<T: NativeScalar>(_ x: UnsafeMutablePointer<T>, into y: UnsafeMutablePointer<T>, _ n: Int,
                                            vectorised: Bool, factor: (Double) -> T) -> (top: T, sum: Double) {
        if vectorised {
            let top = VectorKernels.rowMax(x, n)
            let sum = VectorKernels.exponentiateRow(x, into: y, n, top: top)
            VectorKernels.scaleRow(y, n, by: factor(sum))
            return (top, sum)
        }
        let top = rowMax(x, n)
        let sum = exponentiateRow(x, into: y, n, top: top)
        scaleRow(y, n, by: factor(sum))
        return (top, sum)
    }

    /// y[j] = exp(x[j] − top) for one row of `n`, returning Σⱼ y[j]. The sum is blocked: vector
    /// lanes add at most 16 terms each in T, and each block's lanes are added in Double, so it
    /// stays accurate however long the row.
    @inline(__always)
    static func exponentiateRow<T: NativeScalar>(_ x: UnsafeMutablePointer<T>, into y: UnsafeMutablePointer<T>, _ n: Int,
                                                 top: T) -> Double {
        typealias V = T.Vector64
        let width = V.scalarCount
        let shift = V(repeating: top)
        var sum = 0.0
        var j = 0
        while j < n {
            var block = V()
            let blockEnd = min(n, j + 16 * width)
            while j < blockEnd {
                let count = blockEnd - j
                // Padding −∞ exponentiates to 0, so a partial chunk adds nothing beyond its lanes.
                let e = T.exp(V.load(x + j, count: count, padding: -.infinity) - shift)
                e.store(to: y + j, count: count)
                block += e
                j += width
            }
            sum += T.wideSum(block)
        }
        return sum
    }

    @inline(__always)
    static func scaleRow<T: NativeScalar>(_ y: UnsafeMutablePointer<T>, _ n: Int, by factor: T) {
        typealias V = T.Vector64
        let f = V(repeating: factor)
        var j = 0
        while j + V.scalarCount <= n {
            (V.load(y + j) * f).store(to: y + j)
            j += V.scalarCount
        }
        while j < n {
            y[j] *= factor
            j += 1
        }
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
        let total = columnAccumulate(rows: m, width: 1, costPerRow: 32) { rows, acc in
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

    /// The row's largest value (a NaN in the row makes its softmax NaN whatever this returns).
    @inline(__always)
    static func rowMax<T: NativeScalar>(_ row: UnsafeMutablePointer<T>, _ n: Int) -> T {
        typealias V = T.Vector64
        var top = row[0]
        var j = 0
        if n >= V.scalarCount {
            var tops = V.load(row)
            j = V.scalarCount
            while j + V.scalarCount <= n {
                tops = T.laneMax(tops, V.load(row + j))
                j += V.scalarCount
            }
            top = tops.max()
        }
        while j < n {
            if row[j] > top { top = row[j] }
            j += 1
        }
        return top
    }

    /// The class a label encodes, or nil unless it is an exact integer in 0..<classes.
    @inline(__always)
    static func classIndex<T: NativeScalar>(_ label: T, classes: Int) -> Int? {
        guard label >= 0, label < T(Float(classes)), label.rounded(.towardZero) == label else { return nil }
        return Int(label)
    }
}
