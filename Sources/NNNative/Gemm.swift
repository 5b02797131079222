import NNCore

/// General matrix multiply C ← α·op(A)·op(B) + β·C, in the Goto/BLIS structure:
///
///     for each NC-wide column block of C            (per thread: a stripe of rows or columns)
///       for each KC-deep slice of the k dimension
///         pack op(B)[slice, block] into NR-wide panels      (lives in L3/L2)
///         for each MC-tall row block
///           pack op(A)[block, slice] into MR-tall panels    (lives in L2)
///           for each NR panel, for each MR panel: micro-kernel  (B panel stays in L1)
///
/// Transposition is absorbed by the packing routines, so the micro-kernel only ever sees
/// contiguous, aligned, zero-padded panels. Edge tiles compute a full MR×NR tile into a local
/// buffer and copy out the valid part, so any m, n, k ≥ 1 works.
///
/// Every element of C sums its k products in the same order (KC slices in turn, sequential within
/// a slice) whatever the thread count or tile position, so results do not depend on `threads`.
extension NativeBackend {
    public func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                     into c: Tensor, alpha: Float, beta: Float) throws {
        let (m, n, k) = try OpCheck.gemm(a, transposeA: transposeA, b, transposeB: transposeB, c: c, on: self)
        guard c.storage !== a.storage, c.storage !== b.storage else {
            throw NNError.invalidArgument(op: "gemm", detail: "C shares storage with A or B; write the product into a separate tensor")
        }
        switch precision {
        case .float32:
            let problem = GemmProblem<Float>(
                a: try pointer(a, Float.self, "gemm"), lda: a.columns, transposeA: transposeA,
                b: try pointer(b, Float.self, "gemm"), ldb: b.columns, transposeB: transposeB,
                c: try pointer(c, Float.self, "gemm"), m: m, n: n, k: k, alpha: alpha, beta: beta)
            problem.run(tile: gemmTile, splitter: splitter, workspace: gemmWorkspace)
        case .float64:
            let problem = GemmProblem<Double>(
                a: try pointer(a, Double.self, "gemm"), lda: a.columns, transposeA: transposeA,
                b: try pointer(b, Double.self, "gemm"), ldb: b.columns, transposeB: transposeB,
                c: try pointer(c, Double.self, "gemm"), m: m, n: n, k: k, alpha: alpha, beta: beta)
            problem.run(tile: gemmTile, splitter: splitter, workspace: gemmWorkspace)
        }
    }
}

/// Cache blocking. KC·NR·size (32 KiB for Float) keeps one B micro-panel in the 48 KiB L1d;
/// MC·KC·size (256 KiB) keeps the packed A block in the 1 MiB L2 with room for B's stream.
enum GemmBlocking {
    static let kc = 256
    static let mc = 256
    static let nc = 4096
}

/// Packing buffers reused across calls (allocating megabytes per GEMM would page-fault on every
/// call). One slot per thread; safe because one backend instance runs one op at a time.
final class GemmWorkspace: @unchecked Sendable {
    private var slots: [UnsafeMutableRawPointer?]
    private var capacities: [Int]

    init(threads: Int) {
        slots = Array(repeating: nil, count: threads)
        capacities = Array(repeating: 0, count: threads)
    }

    deinit {
        for slot in slots { slot?.deallocate() }
    }

    /// Makes sure every slot holds at least `bytes` bytes, 64-byte aligned. Called before the
    /// threads start, so the workers only read `slots`.
    func reserve(threads: Int, bytes: Int) {
        for t in 0..<min(threads, slots.count) where capacities[t] < bytes {
            slots[t]?.deallocate()
            slots[t] = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            capacities[t] = bytes
        }
    }

    func slot(_ t: Int) -> UnsafeMutableRawPointer { slots[t]! }
}

/// One GEMM call: operands as raw pointers plus leading dimensions.
struct GemmProblem<T: NativeScalar>: @unchecked Sendable {
    let a: UnsafeMutablePointer<T>, lda: Int, transposeA: Bool
    let b: UnsafeMutablePointer<T>, ldb: Int, transposeB: Bool
    let c: UnsafeMutablePointer<T>
    let m: Int, n: Int, k: Int
    let alpha: T, beta: T
    let betaIsZero: Bool

    init(a: UnsafeMutablePointer<T>, lda: Int, transposeA: Bool, b: UnsafeMutablePointer<T>, ldb: Int, transposeB: Bool,
         c: UnsafeMutablePointer<T>, m: Int, n: Int, k: Int, alpha: Float, beta: Float) {
        self.a = a; self.lda = lda; self.transposeA = transposeA
        self.b = b; self.ldb = ldb; self.transposeB = transposeB
        self.c = c; self.m = m; self.n = n; self.k = k
        self.alpha = T(alpha); self.beta = T(beta); betaIsZero = beta == 0
    }

    func run(tile: GemmTile, splitter: WorkSplitter, workspace: GemmWorkspace) {
        if alpha == 0 {
            scaleOnly()
            return
        }
        switch tile.fitting(columns: n, scalarSize: MemoryLayout<T>.size) {
        case .vector512: run(Tile8x2<T.Vector64>.self, splitter: splitter, workspace: workspace)
        case .vector256: run(Tile6x2<T.Vector32>.self, splitter: splitter, workspace: workspace)
        case .vector128: run(Tile6x2<T.Vector16>.self, splitter: splitter, workspace: workspace)
        }
    }

    private func run<K: TileKernel>(_: K.Type, splitter: WorkSplitter, workspace: GemmWorkspace) where K.Scalar == T {
        // Split C into one stripe per thread: by columns when each stripe keeps at least two
        // register tiles of width (no redundant B packing), else by rows.
        let work = m.multipliedReportingOverflow(by: n).partialValue.multipliedReportingOverflow(by: k)
        let parallel = splitter.threads > 1 && (work.overflow || work.partialValue >= 1 << 18)
        let byColumns = n >= 2 * K.nr * splitter.threads || m < 2 * K.mr * splitter.threads
        let stripes = parallel
            ? (byColumns ? splitter.ranges(n, costPerItem: 1 << 20, granularity: K.nr)
                         : splitter.ranges(m, costPerItem: 1 << 20, granularity: K.mr))
            : [0..<(byColumns ? n : m)]
        let kc = min(k, GemmBlocking.kc)
        let bBytes = kc * (min(n, GemmBlocking.nc) + K.nr) * MemoryLayout<T>.stride
        let aBytes = kc * (min(m, GemmBlocking.mc) + K.mr) * MemoryLayout<T>.stride
        let aOffset = (bBytes + 63) / 64 * 64
        workspace.reserve(threads: stripes.count, bytes: aOffset + aBytes)
        let slots = (0..<stripes.count).map { SendablePointer(workspace.slot($0).assumingMemoryBound(to: UInt8.self)) }
        splitter.run(tasks: stripes.count) { t in
            let raw = UnsafeMutableRawPointer(slots[t].p)
            let packedB = raw.assumingMemoryBound(to: T.self)
            let packedA = (raw + aOffset).assumingMemoryBound(to: T.self)
            if byColumns {
                block(K.self, rows: 0..<m, columns: stripes[t], packedA: packedA, packedB: packedB)
            } else {
                block(K.self, rows: stripes[t], columns: 0..<n, packedA: packedA, packedB: packedB)
            }
        }
    }

    /// α = 0: C ← β·C without reading A or B (as BLAS does), and zero when β = 0.
    private func scaleOnly() {
        for i in 0..<(m * n) { c[i] = betaIsZero ? 0 : beta * c[i] }
    }

    /// The Goto loop nest over one stripe of C.
    private func block<K: TileKernel>(_: K.Type, rows: Range<Int>, columns: Range<Int>,
                                      packedA: UnsafeMutablePointer<T>, packedB: UnsafeMutablePointer<T>) where K.Scalar == T {
        let mr = K.mr, nr = K.nr
        for jc in stride(from: columns.lowerBound, to: columns.upperBound, by: GemmBlocking.nc) {
            let ncb = min(GemmBlocking.nc, columns.upperBound - jc)
            for pc in stride(from: 0, to: k, by: GemmBlocking.kc) {
                let kcb = min(GemmBlocking.kc, k - pc)
                packB(into: packedB, width: nr, rows: pc..<(pc + kcb), columns: jc..<(jc + ncb))
                for ic in stride(from: rows.lowerBound, to: rows.upperBound, by: GemmBlocking.mc) {
                    let mcb = min(GemmBlocking.mc, rows.upperBound - ic)
                    packA(into: packedA, height: mr, rows: ic..<(ic + mcb), depth: pc..<(pc + kcb))
                    for jr in stride(from: 0, to: ncb, by: nr) {
                        for ir in stride(from: 0, to: mcb, by: mr) {
                            tile(K.self, kc: kcb, a: packedA + ir * kcb, b: packedB + jr * kcb,
                                 row: ic + ir, column: jc + jr,
                                 rows: min(mr, mcb - ir), columns: min(nr, ncb - jr), first: pc == 0)
                        }
                    }
                }
            }
        }
    }

    /// op(B)[depth, columns] into panels of NR columns: panel j holds, for each p, NR consecutive
    /// values op(B)[p, j·NR ..< j·NR + NR], zero beyond the last column.
    private func packB(into dst: UnsafeMutablePointer<T>, width nr: Int, rows depth: Range<Int>, columns: Range<Int>) {
        let kc = depth.count
        var out = dst
        for j0 in stride(from: columns.lowerBound, to: columns.upperBound, by: nr) {
            let width = min(nr, columns.upperBound - j0)
            if transposeB {
                // op(B)[p, j] = b[j·ldb + p]: each column is contiguous in p.
                if width < nr { out.update(repeating: 0, count: kc * nr) }
                for j in 0..<width {
                    let src = b + (j0 + j) * ldb + depth.lowerBound
                    for p in 0..<kc { out[p * nr + j] = src[p] }
                }
            } else {
                for p in 0..<kc {
                    let src = b + (depth.lowerBound + p) * ldb + j0
                    let row = out + p * nr
                    row.update(from: src, count: width)
                    if width < nr { (row + width).update(repeating: 0, count: nr - width) }
                }
            }
            out += kc * nr
        }
    }

    /// op(A)[rows, depth] into panels of MR rows: panel i holds, for each p, MR consecutive values
    /// op(A)[i·MR ..< i·MR + MR, p], zero beyond the last row.
    private func packA(into dst: UnsafeMutablePointer<T>, height mr: Int, rows: Range<Int>, depth: Range<Int>) {
        let kc = depth.count
        var out = dst
        for i0 in stride(from: rows.lowerBound, to: rows.upperBound, by: mr) {
            let height = min(mr, rows.upperBound - i0)
            if height < mr { out.update(repeating: 0, count: kc * mr) }
            if transposeA {
                // op(A)[i, p] = a[p·lda + i]: MR consecutive rows of op(A) are contiguous.
                for p in 0..<kc {
                    (out + p * mr).update(from: a + (depth.lowerBound + p) * lda + i0, count: height)
                }
            } else {
                for i in 0..<height {
                    let src = a + (i0 + i) * lda + depth.lowerBound
                    for p in 0..<kc { out[p * mr + i] = src[p] }
                }
            }
            out += kc * mr
        }
    }

    /// One MR×NR tile of C from packed panels; `first` marks the first KC slice, which applies β.
    @inline(__always)
    private func tile<K: TileKernel>(_: K.Type, kc: Int, a: UnsafeMutablePointer<T>, b: UnsafeMutablePointer<T>,
                      row: Int, column: Int, rows: Int, columns: Int, first: Bool) where K.Scalar == T {
        let nr = K.nr
        if rows == K.mr && columns == nr {
            K.run(kc: kc, a: a, b: b, c: c + row * n + column, ldc: n,
                               alpha: alpha, beta: first ? beta : 1, betaIsZero: first && betaIsZero)
            return
        }
        // Edge tile: compute all of it into a zeroed scratch tile, then blend the valid part.
        withUnsafeTemporaryAllocation(of: T.self, capacity: K.mr * nr) { scratch in
            let s = scratch.baseAddress!
            s.initialize(repeating: 0, count: K.mr * nr)
            K.run(kc: kc, a: a, b: b, c: s, ldc: nr, alpha: 1, beta: 0, betaIsZero: true)
            for i in 0..<rows {
                let dst = c + (row + i) * n + column, src = s + i * nr
                for j in 0..<columns {
                    let product = alpha * src[j]
                    if first {
                        dst[j] = betaIsZero ? product : product + beta * dst[j]
                    } else {
                        dst[j] += product
                    }
                }
            }
        }
    }
}
