import NNCore

/// Reductions. All of them accumulate in `Double` (for float32 data that makes a sum over 10⁵
/// rows accurate to ~1e-7 relative without pairwise trees). Rows are reduced in fixed blocks of
/// ``reductionBlockRows`` and the block partials added in block order, whichever thread reduced
/// which block, so every result is the same bits for any thread count: a run resumed with another
/// `NN_NATIVE_THREADS` continues exactly.
extension NativeBackend {
    // MARK: Shared column accumulation

    /// Rows per block of a column reduction. Fixed (not per thread) so the order of additions does
    /// not depend on the thread count; small enough that a batch of 128 still splits in two.
    static let reductionBlockRows = 64

    /// Σᵢ f(i, j) for `width` accumulators j over `rows` rows, in Double: `accumulateRows(range,
    /// acc)` adds rows `range` into the accumulators `acc` (zeroed on entry). Each block of
    /// ``reductionBlockRows`` rows gets its own accumulators; threads take runs of blocks and the
    /// blocks are added in order. `costPerRow` (element operations) decides whether threads pay.
    /// The sums live in scratch until the next op; read them at once.
    ///
    /// `blockRows` may be raised by an op whose rows are single elements (a whole-tensor sum), so
    /// that a block is worth a call; it must not depend on the thread count.
    func columnAccumulate(rows: Int, width: Int, costPerRow: Int, blockRows: Int = reductionBlockRows,
                          _ accumulateRows: (Range<Int>, UnsafeMutablePointer<Double>) -> Void) -> UnsafeMutablePointer<Double> {
        let blocks = max(1, (rows + blockRows - 1) / blockRows)
        let parts = splitter.partition(blocks, costPerItem: blockRows * max(costPerRow, 1))
        let partials = scratch.buffer(ScratchSlot.partials(threads: threads), Double.self, count: blocks * width)
        partials.update(repeating: 0, count: blocks * width)
        let base = SendablePointer(partials)
        splitter.run(tasks: parts.tasks) { t in
            for block in parts.range(t) {
                accumulateRows(block * blockRows..<min(rows, (block + 1) * blockRows), base.p + block * width)
            }
        }
        for block in 1..<blocks {
            let part = partials + block * width
            for j in 0..<width { partials[j] += part[j] }
        }
        return partials
    }

    // MARK: Kernels

    func columnSums<T: NativeScalar>(_: T.Type, _ x: Tensor, _ out: Tensor, _ alpha: Float, _ beta: Float) throws {
        let xp = SendablePointer(try pointer(x, T.self, "columnSums"))
        let op = try pointer(out, T.self, "columnSums")
        let n = x.columns
        let sums = columnAccumulate(rows: x.rows, width: n, costPerRow: n) { rows, acc in
            Self.addRows(xp.p, columns: n, rows: rows, into: acc)
        }
        let a = Double(alpha), b = Double(beta)
        for j in 0..<n {
            // β = 0 ignores out's old contents, as in gemm, so NaNs there cannot leak through.
            let previous = beta == 0 ? 0 : b * op[j].wide
            op[j] = T(a * sums[j] + previous)
        }
    }

    /// acc[j] += Σ_{i ∈ rows} x[i, j] in Double, eight columns at a time.
    @inline(__always)
    static func addRows<T: NativeScalar>(_ x: UnsafeMutablePointer<T>, columns n: Int, rows: Range<Int>,
                                         into acc: UnsafeMutablePointer<Double>) {
        for i in rows {
            let row = x + i * n
            var j = 0
            while j + 8 <= n {
                (SIMD8<Double>.load(acc + j) + T.widen(SIMD8<T>.load(row + j))).store(to: acc + j)
                j += 8
            }
            while j < n {
                acc[j] += row[j].wide
                j += 1
            }
        }
    }

    func reduce<T: NativeScalar>(_: T.Type, _ reduction: Reduction, _ x: Tensor, _ out: Tensor,
                                         _ accumulate: Bool) throws {
        let xp = SendablePointer(try pointer(x, T.self, "reduce"))
        let op = try pointer(out, T.self, "reduce")
        let count = x.count
        // Neumaier-compensated in Double: error ≈ 2u·Σ|terms| whatever the count, which float64
        // data (gradient checks) needs; float32 data would be fine without, and costs little with.
        // Elements are the rows here: 4,096 per block keeps the per-block call and partial negligible.
        let total = columnAccumulate(rows: count, width: 1, costPerRow: 4, blockRows: 4096) { r, acc in
            var sum = CompensatedSum()
            switch reduction {
            case .sum: for i in r { sum.add(xp.p[i].wide) }
            case .sumOfSquares: for i in r { let v = xp.p[i].wide; sum.add(v * v) }
            case .sumOfAbsolute: for i in r { sum.add(abs(xp.p[i].wide)) }
            }
            acc[0] = sum.value
        }[0]
        op[0] = T(accumulate ? op[0].wide + total : total)
    }

    func argmaxRows<T: NativeScalar>(_: T.Type, _ x: Tensor, _ out: Tensor) throws {
        let xp = SendablePointer(try pointer(x, T.self, "argmaxRows"))
        let op = SendablePointer(try pointer(out, T.self, "argmaxRows"))
        let n = x.columns
        splitter.forEachRange(x.rows, costPerItem: n) { rows in
            for i in rows { op.p[i] = T(Float(Self.argmaxIndex(xp.p + i * n, count: n))) }
        }
    }

    /// count += the rows whose arg-max equals their label. One thread: a batch's rows are few and
    /// each costs n comparisons, far less than waking the pool.
    func accumulateArgmaxMatches<T: NativeScalar>(_: T.Type, _ x: Tensor, _ labels: Tensor, _ count: Tensor) throws {
        let xp = try pointer(x, T.self, "accumulateArgmaxMatches")
        let lp = try pointer(labels, T.self, "accumulateArgmaxMatches")
        let cp = try pointer(count, T.self, "accumulateArgmaxMatches")
        let n = x.columns
        var matches = 0
        for i in 0..<x.rows where T(Float(Self.argmaxIndex(xp + i * n, count: n))) == lp[i] { matches += 1 }
        cp[0] += T(Float(matches))
    }

    /// The index of the largest of `count` values, the first on ties; a NaN never wins a comparison
    /// (a row of NaNs gives 0).
    private static func argmaxIndex<T: NativeScalar>(_ row: UnsafeMutablePointer<T>, count n: Int) -> Int {
        var best = 0
        var bestValue = row[0]
        for j in 1..<max(n, 1) where row[j] > bestValue || (bestValue.isNaN && !row[j].isNaN) {
            best = j
            bestValue = row[j]
        }
        return best
    }
}

/// Neumaier's compensated sum: the rounding error of every addition is carried in `compensation`.
struct CompensatedSum {
    private var sum = 0.0
    private var compensation = 0.0

    var value: Double { sum + compensation }

    @inline(__always)
    mutating func add(_ x: Double) {
        let t = sum + x
        compensation += abs(sum) >= abs(x) ? (sum - t) + x : (x - t) + sum
        sum = t
    }
}
