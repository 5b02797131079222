import NNCore

/// Batch normalisation per feature (column), PyTorch `BatchNorm1d` numerics.
///
/// Statistics stream x from memory once: rows are taken in blocks small enough to stay in L2
/// (~256 KiB), each block gets an exact two-pass mean and Σ(x − μ_block)² in `Double` (its second
/// pass reads L2, not memory), and blocks are merged in order with Chan et al.'s pairwise
/// update (M₂ += M₂ᵇ + δ²·nₐn_b/(nₐ+n_b)), which is as stable as a global two-pass. So a batch of
/// 10⁵ rows with a large mean relative to its spread keeps its variance. Normalisation subtracts
/// μ before scaling (never x·s − μ·s, which cancels catastrophically when |μ| ≫ σ).
///
/// Forward then costs two reads of x and one write of y; backward two reads of x and dy and one
/// write of dx. Every loop runs over 8 columns at a time with per-column vector accumulators.
///
/// Batch norm followed by ReLU is fused into the same loops: the forward applies `y < 0 ? 0 : y`
/// as it stores y, and the backward reads dz where the ReLU output z > 0 (0 elsewhere) wherever it
/// reads dy. Each element goes through exactly the arithmetic of the separate ops, in the same order,
/// so the fused pair gives the same bits as batch norm and then ``NativeBackend``'s ReLU.
extension NativeBackend {
    public func uncheckedBatchNormForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output y: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws {
        try batchNormTraining(x, gamma, beta, runningMean, runningVariance, averagingBeta, epsilon, y, savedMean, savedInverseStd,
                              relu: false)
    }

    public func uncheckedBatchNormReLUForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output z: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws {
        try batchNormTraining(x, gamma, beta, runningMean, runningVariance, averagingBeta, epsilon, z, savedMean, savedInverseStd,
                              relu: true)
    }

    public func uncheckedBatchNormForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output y: Tensor) throws {
        try batchNormInference(x, gamma, beta, runningMean, runningVariance, epsilon, y, relu: false)
    }

    public func uncheckedBatchNormReLUForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output z: Tensor) throws {
        try batchNormInference(x, gamma, beta, runningMean, runningVariance, epsilon, z, relu: true)
    }

    public func uncheckedBatchNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        try batchNormBackward(x, nil, dy, gamma, savedMean, savedInverseStd, dx, gradGamma, gradBeta)
    }

    public func uncheckedBatchNormReLUBackward(
        _ x: Tensor, output z: Tensor, gradOutput dz: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        try batchNormBackward(x, z, dz, gamma, savedMean, savedInverseStd, dx, gradGamma, gradBeta)
    }

    // MARK: Precision dispatch

    private func batchNormTraining(
        _ x: Tensor, _ gamma: Tensor, _ beta: Tensor, _ runningMean: Tensor, _ runningVariance: Tensor,
        _ averagingBeta: Float, _ epsilon: Float, _ y: Tensor, _ savedMean: Tensor, _ savedInverseStd: Tensor, relu: Bool) throws {
        switch precision {
        case .float32:
            try batchNormTraining(Float.self, x, gamma, beta, runningMean, runningVariance, averagingBeta, epsilon,
                                  y, savedMean, savedInverseStd, relu: relu)
        case .float64:
            try batchNormTraining(Double.self, x, gamma, beta, runningMean, runningVariance, averagingBeta, epsilon,
                                  y, savedMean, savedInverseStd, relu: relu)
        }
    }

    private func batchNormInference(
        _ x: Tensor, _ gamma: Tensor, _ beta: Tensor, _ runningMean: Tensor, _ runningVariance: Tensor,
        _ epsilon: Float, _ y: Tensor, relu: Bool) throws {
        switch precision {
        case .float32: try batchNormInference(Float.self, x, gamma, beta, runningMean, runningVariance, epsilon, y, relu: relu)
        case .float64: try batchNormInference(Double.self, x, gamma, beta, runningMean, runningVariance, epsilon, y, relu: relu)
        }
    }

    /// With `z`, the ReLU output of a fused forward, `dy` is the ReLU's dz and is masked by z.
    private func batchNormBackward(
        _ x: Tensor, _ z: Tensor?, _ dy: Tensor, _ gamma: Tensor, _ savedMean: Tensor, _ savedInverseStd: Tensor,
        _ dx: Tensor, _ gradGamma: Tensor, _ gradBeta: Tensor) throws {
        switch precision {
        case .float32:
            try batchNormBackward(Float.self, x, z, dy, gamma, savedMean, savedInverseStd, dx, gradGamma, gradBeta)
        case .float64:
            try batchNormBackward(Double.self, x, z, dy, gamma, savedMean, savedInverseStd, dx, gradGamma, gradBeta)
        }
    }

    // MARK: Kernels

    private func batchNormTraining<T: NativeScalar>(
        _: T.Type, _ x: Tensor, _ gamma: Tensor, _ beta: Tensor, _ runningMean: Tensor, _ runningVariance: Tensor,
        _ averagingBeta: Float, _ epsilon: Float, _ y: Tensor, _ savedMean: Tensor, _ savedInverseStd: Tensor,
        relu: Bool) throws {
        let op = "batchNormForwardTraining"
        let xp = SendablePointer(try pointer(x, T.self, op))
        let yp = SendablePointer(try pointer(y, T.self, op))
        let gp = try pointer(gamma, T.self, op), bp = try pointer(beta, T.self, op)
        let rm = try pointer(runningMean, T.self, op), rv = try pointer(runningVariance, T.self, op)
        let sm = try pointer(savedMean, T.self, op), ss = try pointer(savedInverseStd, T.self, op)
        let m = x.rows, n = x.columns

        let state = columnMoments(xp, rows: m, columns: n)
        let keep = Double(averagingBeta), blend = 1 - keep
        let coefficients = scratch.buffer(ScratchSlot.features(threads: threads), T.self, count: 3 * n)
        let center = coefficients, scale = center + n, shift = scale + n
        for j in 0..<n {
            let mean = state[j]
            let variance = state[n + j] / Double(m)
            let inverseStd = 1 / (variance + Double(epsilon)).squareRoot()
            let unbiased = m > 1 ? variance * Double(m) / Double(m - 1) : variance
            sm[j] = T(mean)
            ss[j] = T(inverseStd)
            rm[j] = T(keep * rm[j].wide + blend * mean)
            rv[j] = T(keep * rv[j].wide + blend * unbiased)
            center[j] = T(mean)
            scale[j] = T(gp[j].wide * inverseStd)
            shift[j] = bp[j]
        }
        normalize(xp, yp, rows: m, columns: n, center: center, scale: scale, shift: shift, relu: relu)
    }

    /// Column means and M₂ = Σ(x − μ)² in Double: `[mean | M₂]`, in scratch.
    ///
    /// float32 streams x once (L2-sized row blocks, each two-pass, merged à la Chan). float64 exists
    /// for gradient checking, where the last digits matter more than speed and the blocks' merge
    /// error (first order in the rounding of each block mean, ~1e-14 relative) would show: it runs
    /// the global two-pass, reading x twice.
    private func columnMoments<T: NativeScalar>(_ xp: SendablePointer<T>, rows m: Int, columns n: Int) -> UnsafeMutablePointer<Double> {
        if T.self == Double.self {
            let means = scratch.buffer(ScratchSlot.statistics(threads: threads), Double.self, count: 2 * n)
            let sums = columnAccumulate(rows: m, width: n, costPerRow: n) { rows, acc in
                Self.addRows(xp.p, columns: n, rows: rows, into: acc)
            }
            for j in 0..<n { means[j] = sums[j] / Double(m) }
            let mp = SendablePointer(means)
            let squares = columnAccumulate(rows: m, width: n, costPerRow: n) { rows, acc in
                Self.addSquaredDeviations(xp.p, columns: n, rows: rows, from: mp.p, into: acc)
            }
            means.advanced(by: n).update(from: squares, count: n)
            return means
        }
        // Per block of rows (at most L2-sized, and no more than a reduction block so that a batch
        // of 128 still splits across threads): [mean | M₂], merged into block 0's in block order,
        // so the result does not depend on which thread took which block, or on the thread count.
        let blockRows = max(1, min(Self.reductionBlockRows, (256 << 10) / (n * MemoryLayout<T>.stride)))
        let blocks = (m + blockRows - 1) / blockRows
        let parts = splitter.partition(blocks, costPerItem: 2 * n * blockRows)
        let state = scratch.buffer(ScratchSlot.partials(threads: threads), Double.self, count: max(blocks, 1) * 2 * n)
        let sp = SendablePointer(state)
        splitter.run(tasks: parts.tasks) { t in
            for b in parts.range(t) {
                let block = b * blockRows..<min(m, (b + 1) * blockRows)
                let blockMean = sp.p + b * 2 * n, blockM2 = blockMean + n
                blockMean.update(repeating: 0, count: n)
                Self.addRows(xp.p, columns: n, rows: block, into: blockMean)
                let inverse = 1 / Double(block.count)
                for j in 0..<n { blockMean[j] *= inverse }
                blockM2.update(repeating: 0, count: n)
                Self.addSquaredDeviations(xp.p, columns: n, rows: block, from: blockMean, into: blockM2)
            }
        }
        for b in 1..<max(blocks, 1) {
            let other = state + b * 2 * n
            Self.mergeMoments(state, state + n, count: b * blockRows,
                              other, other + n, count: min(m, (b + 1) * blockRows) - b * blockRows, columns: n)
        }
        return state
    }

    /// acc[j] += Σ_{i ∈ rows} (x[i, j] − mean[j])² in Double.
    private static func addSquaredDeviations<T: NativeScalar>(_ x: UnsafeMutablePointer<T>, columns n: Int, rows: Range<Int>,
                                                              from mean: UnsafeMutablePointer<Double>,
                                                              into acc: UnsafeMutablePointer<Double>) {
        for i in rows {
            let row = x + i * n
            var j = 0
            while j + 8 <= n {
                let d = T.widen(SIMD8<T>.load(row + j)) - SIMD8<Double>.load(mean + j)
                (SIMD8<Double>.load(acc + j) + d * d).store(to: acc + j)
                j += 8
            }
            while j < n {
                let d = row[j].wide - mean[j]
                acc[j] += d * d
                j += 1
            }
        }
    }

    /// Folds the moments of `countB` rows (mean, M₂) into those of `countA` rows, column-wise
    /// (Chan, Golub & LeVeque's pairwise update).
    private static func mergeMoments(_ mean: UnsafeMutablePointer<Double>, _ m2: UnsafeMutablePointer<Double>, count countA: Int,
                                     _ meanB: UnsafeMutablePointer<Double>, _ m2B: UnsafeMutablePointer<Double>, count countB: Int,
                                     columns n: Int) {
        if countA == 0 {
            mean.update(from: meanB, count: n)
            m2.update(from: m2B, count: n)
            return
        }
        let a = Double(countA), b = Double(countB)
        let weight = b / (a + b), cross = a * b / (a + b)
        for j in 0..<n {
            let delta = meanB[j] - mean[j]
            mean[j] += delta * weight
            m2[j] += m2B[j] + delta * delta * cross
        }
    }

    private func batchNormInference<T: NativeScalar>(
        _: T.Type, _ x: Tensor, _ gamma: Tensor, _ beta: Tensor, _ runningMean: Tensor, _ runningVariance: Tensor,
        _ epsilon: Float, _ y: Tensor, relu: Bool) throws {
        let op = "batchNormForwardInference"
        let xp = SendablePointer(try pointer(x, T.self, op))
        let yp = SendablePointer(try pointer(y, T.self, op))
        let gp = try pointer(gamma, T.self, op), bp = try pointer(beta, T.self, op)
        let rm = try pointer(runningMean, T.self, op), rv = try pointer(runningVariance, T.self, op)
        let n = x.columns
        let coefficients = scratch.buffer(ScratchSlot.features(threads: threads), T.self, count: 3 * n)
        let center = coefficients, scale = center + n, shift = scale + n
        for j in 0..<n {
            center[j] = rm[j]
            scale[j] = T(gp[j].wide / (rv[j].wide + Double(epsilon)).squareRoot())
            shift[j] = bp[j]
        }
        normalize(xp, yp, rows: x.rows, columns: n, center: center, scale: scale, shift: shift, relu: relu)
    }

    /// y[i, j] = (x[i, j] − center[j])·scale[j] + shift[j], rows split across threads; then, when
    /// `relu`, y < 0 ? 0 : y (the native ReLU's form: NaN and −0 pass through).
    private func normalize<T: NativeScalar>(_ xp: SendablePointer<T>, _ yp: SendablePointer<T>, rows m: Int, columns n: Int,
                                            center: UnsafeMutablePointer<T>, scale: UnsafeMutablePointer<T>,
                                            shift: UnsafeMutablePointer<T>, relu: Bool) {
        let cp = SendablePointer(center), sp = SendablePointer(scale), bp = SendablePointer(shift)
        splitter.forEachRange(m, costPerItem: n) { rows in
            for i in rows {
                let xr = xp.p + i * n, yr = yp.p + i * n
                var j = 0
                while j + 8 <= n {
                    var v = (SIMD8<T>.load(xr + j) - SIMD8<T>.load(cp.p + j)) * SIMD8<T>.load(sp.p + j) + SIMD8<T>.load(bp.p + j)
                    if relu { v = T.relu(v) }
                    v.store(to: yr + j)
                    j += 8
                }
                while j < n {
                    let v = (xr[j] - cp.p[j]) * sp.p[j] + bp.p[j]
                    yr[j] = relu && v < 0 ? 0 : v
                    j += 1
                }
            }
        }
    }

    private func batchNormBackward<T: NativeScalar>(
        _: T.Type, _ x: Tensor, _ z: Tensor?, _ dy: Tensor, _ gamma: Tensor, _ savedMean: Tensor, _ savedInverseStd: Tensor,
        _ dx: Tensor, _ gradGamma: Tensor, _ gradBeta: Tensor) throws {
        let op = "batchNormBackward"
        let xp = SendablePointer(try pointer(x, T.self, op))
        let dyp = SendablePointer(try pointer(dy, T.self, op))
        // Without a ReLU output to mask by, dy stands in for z (never read: `relu` is false).
        let relu = z != nil
        let zp = SendablePointer(try z.map { try pointer($0, T.self, op) } ?? dyp.p)
        let dxp = SendablePointer(try pointer(dx, T.self, op))
        let gp = try pointer(gamma, T.self, op)
        let mup = SendablePointer(try pointer(savedMean, T.self, op))
        let isp = SendablePointer(try pointer(savedInverseStd, T.self, op))
        let dgp = try pointer(gradGamma, T.self, op), dbp = try pointer(gradBeta, T.self, op)
        let m = x.rows, n = x.columns

        // One pass for both sums: accumulators [Σ dy | Σ dy·x̂].
        let sums = columnAccumulate(rows: m, width: 2 * n, costPerRow: 2 * n) { rows, acc in
            let dyAcc = acc, dyxAcc = acc + n
            for i in rows {
                let xr = xp.p + i * n, dyr = dyp.p + i * n, zr = zp.p + i * n
                var j = 0
                while j + 8 <= n {
                    let g = T.widen(Self.gradient(dyr + j, zr + j, relu: relu))
                    let xhat = (SIMD8<T>.load(xr + j) - SIMD8<T>.load(mup.p + j)) * SIMD8<T>.load(isp.p + j)
                    (SIMD8<Double>.load(dyAcc + j) + g).store(to: dyAcc + j)
                    (SIMD8<Double>.load(dyxAcc + j) + g * T.widen(xhat)).store(to: dyxAcc + j)
                    j += 8
                }
                while j < n {
                    let g = (relu && !(zr[j] > 0) ? 0 : dyr[j]).wide
                    dyAcc[j] += g
                    dyxAcc[j] += g * ((xr[j] - mup.p[j]) * isp.p[j]).wide
                    j += 1
                }
            }
        }
        let coefficients = scratch.buffer(ScratchSlot.features(threads: threads), T.self, count: 3 * n)
        let k = SendablePointer(coefficients), meanDy = SendablePointer(coefficients + n)
        let meanDyx = SendablePointer(coefficients + 2 * n)
        for j in 0..<n {
            dbp[j] = T(sums[j])
            dgp[j] = T(sums[n + j])
            k.p[j] = T(gp[j].wide * isp.p[j].wide)
            meanDy.p[j] = T(sums[j] / Double(m))
            meanDyx.p[j] = T(sums[n + j] / Double(m))
        }
        splitter.forEachRange(m, costPerItem: n) { rows in
            for i in rows {
                let xr = xp.p + i * n, dyr = dyp.p + i * n, zr = zp.p + i * n, dxr = dxp.p + i * n
                var j = 0
                while j + 8 <= n {
                    let xhat = (SIMD8<T>.load(xr + j) - SIMD8<T>.load(mup.p + j)) * SIMD8<T>.load(isp.p + j)
                    let v = SIMD8<T>.load(k.p + j)
                        * (Self.gradient(dyr + j, zr + j, relu: relu) - SIMD8<T>.load(meanDy.p + j) - xhat * SIMD8<T>.load(meanDyx.p + j))
                    v.store(to: dxr + j)
                    j += 8
                }
                while j < n {
                    let xhat = (xr[j] - mup.p[j]) * isp.p[j]
                    let g = relu && !(zr[j] > 0) ? 0 : dyr[j]
                    dxr[j] = k.p[j] * (g - meanDy.p[j] - xhat * meanDyx.p[j])
                    j += 1
                }
            }
        }
    }

    /// Eight values of dy, or, when `relu`, of dz where z > 0 and 0 elsewhere (the ReLU's backward).
    @inline(__always)
    private static func gradient<T: NativeScalar>(_ dy: UnsafeMutablePointer<T>, _ z: UnsafeMutablePointer<T>,
                                                  relu: Bool) -> SIMD8<T> {
        let g = SIMD8<T>.load(dy)
        return relu ? T.reluGradient(g, output: SIMD8<T>.load(z)) : g
    }
}
