import NNCore

// The GEMM behind `uncheckedGemm` (Algebra.swift), C ← α·op(A)·op(B) + β·C, in the Goto/BLIS structure:
//
//     for each NC-wide column block of C            (per thread: a stripe of rows or columns)
//       for each KC-deep slice of the k dimension
//         pack op(B)[slice, block] into NR-wide panels      (lives in L3/L2)
//         for each MC-tall row block
//           pack op(A)[block, slice] into MR-tall panels    (lives in L2)
//           for each NR panel, for each MR panel: micro-kernel  (B panel stays in L1)
//
// Transposition is absorbed by the packing routines, so the micro-kernel only ever sees
// contiguous, aligned, zero-padded panels. Edge tiles compute a full MR×NR tile into a local
// buffer and copy out the valid part, so any m, n, k ≥ 1 works.
//
// Every element of C sums its k products in the same order (KC slices in turn, sequential within
// a slice) whatever the thread count or tile position, so results do not depend on `threads`.

/// Cache blocking. KC·NR·size (32 KiB for Float) keeps one B micro-panel in the 48 KiB L1d;
/// MC·KC·size (256 KiB) keeps the packed A block in the 1 MiB L2 with room for B's stream.
enum GemmBlocking {
    static let kc = 256
    static let mc = 256
    static let nc = 4096
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

    /// `kernels` picks the C micro-kernels (Float with fused multiply-adds only); `fused` decides
    /// the arithmetic, and with it the bits.
    func run(tile: GemmTile, kernels: KernelVariant, fused: Bool, splitter: WorkSplitter, scratch: Scratch) {
        if alpha == 0 {
            scaleOnly()
            return
        }
        // A product at most one vector wide (an output layer of 10 classes) skips the tiles: see
        // `runNarrow`. The choice depends on n alone, so it cannot make tiles disagree.
        if n <= T.Vector16.scalarCount {
            runNarrow(T.Vector16.self, kernels: kernels, fused: fused, splitter: splitter, scratch: scratch)
            return
        }
        if n <= T.Vector32.scalarCount {
            runNarrow(T.Vector32.self, kernels: kernels, fused: fused, splitter: splitter, scratch: scratch)
            return
        }
        if n <= T.Vector64.scalarCount {
            runNarrow(T.Vector64.self, kernels: kernels, fused: fused, splitter: splitter, scratch: scratch)
            return
        }
        if fused {
            run(Fused.self, tile: tile, kernels: kernels, splitter: splitter, scratch: scratch)
        } else {
            run(Separate.self, tile: tile, kernels: kernels, splitter: splitter, scratch: scratch)
        }
    }

    /// Whether the C kernels of `kernels` run this product (they exist for Float, fused only).
    private func usesCKernels<M: MultiplyAdd>(_: M.Type, _ kernels: KernelVariant) -> Bool {
        kernels != .baseline && T.self == Float.self && M.self == Fused.self
    }

    private func run<M: MultiplyAdd>(_: M.Type, tile: GemmTile, kernels: KernelVariant, splitter: WorkSplitter, scratch: Scratch) {
        let fitted = tile.fitting(columns: n, scalarSize: MemoryLayout<T>.size)
        if usesCKernels(M.self, kernels) {
            // T is Float here (checked above), so this is the same value under its concrete type.
            let problem = unsafeBitCast(self, to: GemmProblem<Float>.self)
            switch fitted {
            case .vector256:
                problem.run(CTile6x16AVX2.self, splitter: splitter, scratch: scratch)
                return
            case .vector512 where kernels == .avx512:
                problem.run(CTile8x32AVX512.self, splitter: splitter, scratch: scratch)
                return
            default:
                break  // a tile with no C kernel here runs in Swift, with the same arithmetic and bits
            }
        }
        switch fitted {
        case .vector512: run(Tile8x2<T.Vector64, M>.self, splitter: splitter, scratch: scratch)
        case .vector256: run(Tile6x2<T.Vector32, M>.self, splitter: splitter, scratch: scratch)
        case .vector128: run(Tile6x2<T.Vector16, M>.self, splitter: splitter, scratch: scratch)
        }
    }

    /// Whether `m·n·k` multiply-adds are worth waking a second thread for.
    private func worthThreads(_ splitter: WorkSplitter) -> Bool {
        let work = m.multipliedReportingOverflow(by: n).partialValue.multipliedReportingOverflow(by: k)
        return splitter.threads > 1 && (work.overflow || work.partialValue >= 1 << 18)
    }

    private func run<K: TileKernel>(_: K.Type, splitter: WorkSplitter, scratch: Scratch) where K.Scalar == T {
        // Split C into one stripe per thread: by columns when each stripe keeps at least two
        // register tiles of width (no redundant B packing), else by rows.
        let byColumns = n >= 2 * K.nr * splitter.threads || m < 2 * K.mr * splitter.threads
        let parallel = worthThreads(splitter)
        let stripes = byColumns
            ? Partition(count: n, tasks: parallel ? min(splitter.threads, (n + K.nr - 1) / K.nr) : 1, granularity: K.nr)
            : Partition(count: m, tasks: parallel ? min(splitter.threads, (m + K.mr - 1) / K.mr) : 1, granularity: K.mr)
        let kc = min(k, GemmBlocking.kc)
        let bBytes = kc * (min(n, GemmBlocking.nc) + K.nr) * MemoryLayout<T>.stride
        let aBytes = kc * (min(m, GemmBlocking.mc) + K.mr) * MemoryLayout<T>.stride
        let aOffset = (bBytes + 63) / 64 * 64
        // Slots are fetched (and grown) here, before the workers start; the workers only read them.
        withUnsafeTemporaryAllocation(of: SendablePointer<UInt8>.self, capacity: stripes.tasks) { slots in
            for t in 0..<stripes.tasks {
                let raw = scratch.slot(NativeBackend.ScratchSlot.gemm(t), bytes: aOffset + aBytes)
                slots.initializeElement(at: t, to: SendablePointer(raw.assumingMemoryBound(to: UInt8.self)))
            }
            splitter.run(tasks: stripes.tasks) { t in
                let raw = UnsafeMutableRawPointer(slots[t].p)
                let packedB = raw.assumingMemoryBound(to: T.self)
                let packedA = (raw + aOffset).assumingMemoryBound(to: T.self)
                if byColumns {
                    block(K.self, rows: 0..<m, columns: stripes.range(t), packedA: packedA, packedB: packedB)
                } else {
                    block(K.self, rows: stripes.range(t), columns: 0..<n, packedA: packedA, packedB: packedB)
                }
            }
        }
    }

    /// C with n ≤ one vector: op(B) packed once into one zero-padded vector per p (k·n values,
    /// shared by the threads), op(A) read in place, rows split across threads. Packing A as the
    /// tiles do would cost as much as the product itself here, since each A value is used once.
    /// Each element sums its products as the tiles do (per KC slice, then α·sum + β·C), so the
    /// results are the same bits a tile would give.
    private func runNarrow<V: SIMD>(_: V.Type, kernels: KernelVariant, fused: Bool, splitter: WorkSplitter, scratch: Scratch)
    where V.Scalar == T {
        if fused {
            runNarrow(V.self, Fused.self, kernels: kernels, splitter: splitter, scratch: scratch)
        } else {
            runNarrow(V.self, Separate.self, kernels: kernels, splitter: splitter, scratch: scratch)
        }
    }

    private func runNarrow<V: SIMD, M: MultiplyAdd>(_: V.Type, _: M.Type, kernels: KernelVariant, splitter: WorkSplitter,
                                                    scratch: Scratch) where V.Scalar == T {
        let inC = usesCKernels(M.self, kernels)
        let width = V.scalarCount
        let packed = scratch.buffer(NativeBackend.ScratchSlot.gemmShared(threads: splitter.threads), V.self, count: k)
        let lanes = UnsafeMutableRawPointer(packed).assumingMemoryBound(to: T.self)
        lanes.update(repeating: 0, count: k * width)
        if transposeB {
            for j in 0..<n {
                let column = b + j * ldb
                for p in 0..<k { lanes[p * width + j] = column[p] }
            }
        } else {
            for p in 0..<k { (lanes + p * width).update(from: b + p * ldb, count: n) }
        }
        let rowBlock = NarrowKernel<V, M>.rows
        let stripes = Partition(count: m, tasks: worthThreads(splitter) ? min(splitter.threads, (m + rowBlock - 1) / rowBlock) : 1,
                                granularity: rowBlock)
        let bp = SendablePointer(packed), lanesPointer = SendablePointer(lanes)
        // op(A)[i, p] = a[i·rowStride + p·depthStride].
        let rowStride = transposeA ? 1 : lda, depthStride = transposeA ? lda : 1
        splitter.run(tasks: stripes.tasks) { t in
            let rows = stripes.range(t)
            for pc in stride(from: 0, to: k, by: GemmBlocking.kc) {
                let depth = pc..<min(k, pc + GemmBlocking.kc)
                let store = NarrowStore<V>(c: c, ldc: n, columns: n, full: n == width, alpha: alpha,
                                           beta: pc == 0 ? beta : 1, betaIsZero: pc == 0 && betaIsZero)
                if inC {
                    // T is Float here, so these are the same pointers and values under their concrete type.
                    func float(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
                        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
                    }
                    CNarrowKernel.run(width: width, rows: rows, depth: depth, a: float(a), rowStride: rowStride,
                                      depthStride: depthStride, packedB: float(lanesPointer.p), c: float(c), ldc: n, columns: n,
                                      alpha: unsafeBitCast(store.alpha, to: Float.self), beta: unsafeBitCast(store.beta, to: Float.self),
                                      betaIsZero: store.betaIsZero)
                } else {
                    NarrowKernel<V, M>.run(rows: rows, depth: depth, a: a, rowStride: rowStride, depthStride: depthStride,
                                           packedB: bp.p, store: store)
                }
            }
        }
    }

    /// α = 0: C ← β·C without reading A or B (as BLAS does), and zero when β = 0.
    private func scaleOnly() {
        let count = m * n
        if betaIsZero {
            c.update(repeating: 0, count: count)
        } else {
            for i in 0..<count { c[i] = beta * c[i] }
        }
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
                    packA(into: packedA, height: mr, rows: ic..<(ic + mcb), depth: pc..<(pc + kcb),
                          vectorised: K.self == CTile6x16AVX2.self)
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
                // op(B)[p, j] = b[j·ldb + p]: each column is contiguous in p, so the panel is a
                // transpose, done in 8×8 register blocks where they fit.
                if width < nr { out.update(repeating: 0, count: kc * nr) }
                let src = b + j0 * ldb + depth.lowerBound
                if width == nr && nr % 8 == 0 {
                    for j in stride(from: 0, to: nr, by: 8) {
                        Transpose.blocks(from: src + j * ldb, sourceStride: ldb, depth: kc, to: out + j, destinationStride: nr)
                    }
                } else {
                    Transpose.scalar(from: src, sourceStride: ldb, lines: width, depth: 0..<kc, to: out, destinationStride: nr)
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
    /// `vectorised`: the AVX2 variant's 6-row packing (Float only) for full panels of untransposed A.
    private func packA(into dst: UnsafeMutablePointer<T>, height mr: Int, rows: Range<Int>, depth: Range<Int>,
                       vectorised: Bool = false) {
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
                // op(A)[i, p] = a[i·lda + p]: rows are contiguous in p, so the panel is a transpose.
                let src = a + i0 * lda + depth.lowerBound
                if height == 8 && mr == 8 {
                    Transpose.blocks(from: src, sourceStride: lda, depth: kc, to: out, destinationStride: mr)
                } else if vectorised && height == 6 && mr == 6 {
                    CPackA6.pack(from: src, lda: lda, kc: kc, to: out)
                } else {
                    Transpose.scalar(from: src, sourceStride: lda, lines: height, depth: 0..<kc, to: out, destinationStride: mr)
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
