import NNCore

/// Batch normalisation per feature (column), PyTorch `BatchNorm1d` numerics.
///
/// Statistics are two-pass — the mean first, then Σ(x − μ)² — accumulated in `Double`, so a batch
/// of 10⁵ rows with a large mean relative to its spread keeps its variance. Normalisation subtracts
/// μ before scaling (never x·s − μ·s, which cancels catastrophically when |μ| ≫ σ).
extension NativeBackend {
    public func batchNormForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output y: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws {
        let op = "batchNormForwardTraining"
        try OpCheck.perFeature(op, input: x, outputs: [("output", y)],
                               vectors: [("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
                                         ("runningVariance", runningVariance), ("savedMean", savedMean),
                                         ("savedInverseStd", savedInverseStd)], on: self)
        try Self.checkBatchNormArguments(op, epsilon: epsilon, averagingBeta: averagingBeta)
        switch precision {
        case .float32:
            try batchNormTraining(Float.self, x, gamma, beta, runningMean, runningVariance, averagingBeta, epsilon,
                                  y, savedMean, savedInverseStd)
        case .float64:
            try batchNormTraining(Double.self, x, gamma, beta, runningMean, runningVariance, averagingBeta, epsilon,
                                  y, savedMean, savedInverseStd)
        }
    }

    public func batchNormForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output y: Tensor) throws {
        let op = "batchNormForwardInference"
        try OpCheck.perFeature(op, input: x, outputs: [("output", y)],
                               vectors: [("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
                                         ("runningVariance", runningVariance)], on: self)
        try Self.checkBatchNormArguments(op, epsilon: epsilon, averagingBeta: nil)
        switch precision {
        case .float32: try batchNormInference(Float.self, x, gamma, beta, runningMean, runningVariance, epsilon, y)
        case .float64: try batchNormInference(Double.self, x, gamma, beta, runningMean, runningVariance, epsilon, y)
        }
    }

    public func batchNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        let op = "batchNormBackward"
        try OpCheck.perFeature(op, input: x, outputs: [("gradOutput", dy), ("gradInput", dx)],
                               vectors: [("gamma", gamma), ("savedMean", savedMean), ("savedInverseStd", savedInverseStd),
                                         ("gradGamma", gradGamma), ("gradBeta", gradBeta)], on: self)
        switch precision {
        case .float32:
            try batchNormBackward(Float.self, x, dy, gamma, savedMean, savedInverseStd, dx, gradGamma, gradBeta)
        case .float64:
            try batchNormBackward(Double.self, x, dy, gamma, savedMean, savedInverseStd, dx, gradGamma, gradBeta)
        }
    }

    static func checkBatchNormArguments(_ op: String, epsilon: Float, averagingBeta: Float?) throws {
        guard epsilon > 0, epsilon.isFinite else {
            throw NNError.invalidArgument(op: op, detail: "ε = \(epsilon) must be finite and > 0 (PyTorch's default is 1e-5)")
        }
        if let b = averagingBeta, !(b >= 0 && b <= 1) {
            throw NNError.invalidArgument(op: op, detail: "averaging β = \(b) must lie in [0, 1] (β = 1 − PyTorch's momentum; 0.9 by default)")
        }
    }

    // MARK: Kernels

    private func batchNormTraining<T: NativeScalar>(
        _: T.Type, _ x: Tensor, _ gamma: Tensor, _ beta: Tensor, _ runningMean: Tensor, _ runningVariance: Tensor,
        _ averagingBeta: Float, _ epsilon: Float, _ y: Tensor, _ savedMean: Tensor, _ savedInverseStd: Tensor) throws {
        let op = "batchNormForwardTraining"
        let xp = SendablePointer(try pointer(x, T.self, op))
        let yp = SendablePointer(try pointer(y, T.self, op))
        let gp = try pointer(gamma, T.self, op), bp = try pointer(beta, T.self, op)
        let rm = try pointer(runningMean, T.self, op), rv = try pointer(runningVariance, T.self, op)
        let sm = try pointer(savedMean, T.self, op), ss = try pointer(savedInverseStd, T.self, op)
        let m = x.rows, n = x.columns

        let sums = columnAccumulate(rows: m, columns: n) { rows, acc in
            for i in rows {
                let row = xp.p + i * n
                for j in 0..<n { acc[j] += row[j].wide }
            }
        }
        let mean = sums.map { $0 / Double(m) }
        let squares = mean.withUnsafeBufferPointer { mu in
            let mup = SendablePointer(UnsafeMutablePointer(mutating: mu.baseAddress!))
            return columnAccumulate(rows: m, columns: n) { rows, acc in
                for i in rows {
                    let row = xp.p + i * n
                    for j in 0..<n { let d = row[j].wide - mup.p[j]; acc[j] += d * d }
                }
            }
        }
        let keep = Double(averagingBeta), blend = 1 - keep
        var shift = [T](repeating: 0, count: n), scale = [T](repeating: 0, count: n), center = [T](repeating: 0, count: n)
        for j in 0..<n {
            let variance = squares[j] / Double(m)
            let inverseStd = 1 / (variance + Double(epsilon)).squareRoot()
            let unbiased = m > 1 ? variance * Double(m) / Double(m - 1) : variance
            sm[j] = T(mean[j])
            ss[j] = T(inverseStd)
            rm[j] = T(keep * rm[j].wide + blend * mean[j])
            rv[j] = T(keep * rv[j].wide + blend * unbiased)
            center[j] = T(mean[j])
            scale[j] = T(gp[j].wide * inverseStd)
            shift[j] = bp[j]
        }
        normalize(xp, yp, rows: m, columns: n, center: center, scale: scale, shift: shift)
    }

    private func batchNormInference<T: NativeScalar>(
        _: T.Type, _ x: Tensor, _ gamma: Tensor, _ beta: Tensor, _ runningMean: Tensor, _ runningVariance: Tensor,
        _ epsilon: Float, _ y: Tensor) throws {
        let op = "batchNormForwardInference"
        let xp = SendablePointer(try pointer(x, T.self, op))
        let yp = SendablePointer(try pointer(y, T.self, op))
        let gp = try pointer(gamma, T.self, op), bp = try pointer(beta, T.self, op)
        let rm = try pointer(runningMean, T.self, op), rv = try pointer(runningVariance, T.self, op)
        let n = x.columns
        let center = (0..<n).map { rm[$0] }
        let scale = (0..<n).map { T(gp[$0].wide / (rv[$0].wide + Double(epsilon)).squareRoot()) }
        let shift = (0..<n).map { bp[$0] }
        normalize(xp, yp, rows: x.rows, columns: n, center: center, scale: scale, shift: shift)
    }

    /// y[i, j] = (x[i, j] − center[j])·scale[j] + shift[j], rows split across threads.
    private func normalize<T: NativeScalar>(_ xp: SendablePointer<T>, _ yp: SendablePointer<T>, rows m: Int, columns n: Int,
                                            center: [T], scale: [T], shift: [T]) {
        center.withUnsafeBufferPointer { c in
            scale.withUnsafeBufferPointer { s in
                shift.withUnsafeBufferPointer { b in
                    let cp = SendablePointer(UnsafeMutablePointer(mutating: c.baseAddress!))
                    let sp = SendablePointer(UnsafeMutablePointer(mutating: s.baseAddress!))
                    let bp = SendablePointer(UnsafeMutablePointer(mutating: b.baseAddress!))
                    splitter.forEachRange(m, costPerItem: n) { rows in
                        for i in rows {
                            let xr = xp.p + i * n, yr = yp.p + i * n
                            for j in 0..<n { yr[j] = (xr[j] - cp.p[j]) * sp.p[j] + bp.p[j] }
                        }
                    }
                }
            }
        }
    }

    private func batchNormBackward<T: NativeScalar>(
        _: T.Type, _ x: Tensor, _ dy: Tensor, _ gamma: Tensor, _ savedMean: Tensor, _ savedInverseStd: Tensor,
        _ dx: Tensor, _ gradGamma: Tensor, _ gradBeta: Tensor) throws {
        let op = "batchNormBackward"
        let xp = SendablePointer(try pointer(x, T.self, op))
        let dyp = SendablePointer(try pointer(dy, T.self, op))
        let dxp = SendablePointer(try pointer(dx, T.self, op))
        let gp = try pointer(gamma, T.self, op)
        let mup = SendablePointer(try pointer(savedMean, T.self, op))
        let isp = SendablePointer(try pointer(savedInverseStd, T.self, op))
        let dgp = try pointer(gradGamma, T.self, op), dbp = try pointer(gradBeta, T.self, op)
        let m = x.rows, n = x.columns

        // One pass for both sums: accumulators [Σ dy | Σ dy·x̂].
        let sums = columnAccumulate(rows: m, columns: n, passes: 2) { rows, acc in
            let dyAcc = acc, dyxAcc = acc + n
            for i in rows {
                let xr = xp.p + i * n, dyr = dyp.p + i * n
                for j in 0..<n {
                    let g = dyr[j].wide
                    dyAcc[j] += g
                    dyxAcc[j] += g * ((xr[j] - mup.p[j]) * isp.p[j]).wide
                }
            }
        }
        var k = [T](repeating: 0, count: n), meanDy = [T](repeating: 0, count: n), meanDyx = [T](repeating: 0, count: n)
        for j in 0..<n {
            dbp[j] = T(sums[j])
            dgp[j] = T(sums[n + j])
            k[j] = T(gp[j].wide * isp.p[j].wide)
            meanDy[j] = T(sums[j] / Double(m))
            meanDyx[j] = T(sums[n + j] / Double(m))
        }
        k.withUnsafeBufferPointer { kb in
            meanDy.withUnsafeBufferPointer { mdb in
                meanDyx.withUnsafeBufferPointer { mdxb in
                    let kp = SendablePointer(UnsafeMutablePointer(mutating: kb.baseAddress!))
                    let a = SendablePointer(UnsafeMutablePointer(mutating: mdb.baseAddress!))
                    let b = SendablePointer(UnsafeMutablePointer(mutating: mdxb.baseAddress!))
                    splitter.forEachRange(m, costPerItem: n) { rows in
                        for i in rows {
                            let xr = xp.p + i * n, dyr = dyp.p + i * n, dxr = dxp.p + i * n
                            for j in 0..<n {
                                let xhat = (xr[j] - mup.p[j]) * isp.p[j]
                                dxr[j] = kp.p[j] * (dyr[j] - a.p[j] - xhat * b.p[j])
                            }
                        }
                    }
                }
            }
        }
    }
}
