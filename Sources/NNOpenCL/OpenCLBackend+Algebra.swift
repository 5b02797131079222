import COpenCL
import NNCore

extension OpenCLBackend {
    public func uncheckedGemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                              into c: Tensor, alpha: Float, beta: Float) throws {
        let (m, n, k) = OpCheck.gemmDimensions(a, transposeA: transposeA, b, transposeB: transposeB)
        let (memA, memB, memC) = (try mem(a, "gemm"), try mem(b, "gemm"), try mem(c, "gemm"))
        let (tuning, table) = GemmShapeClass.of(m: m, n: n) == .square
            ? (gemmTuning, gemmKernels) : (skinnyGemmTuning, skinnyGemmKernels ?? gemmKernels)
        try locked {
            switch tuning.family {
            case .tiled:
                try enqueueTiledGemm(tuning, table, m: m, n: n, k: k, memA, transposeA, memB, transposeB, memC, alpha: alpha, beta: beta,
                                     bias: nil, relu: false)
            case .vector:
                try enqueueVectorGemm(tuning, table, m: m, n: n, k: k, memA, transposeA, memB, transposeB, memC, alpha: alpha, beta: beta)
            }
        }
    }

    /// The tiled family adds the bias and applies the ReLU as it stores C (one kernel, or the split-K
    /// reduction); the vector family (CPU drivers, where C is cache-resident) runs the row-vector and
    /// ReLU ops after the product.
    public func uncheckedGemmEpilogue(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                                      into c: Tensor, alpha: Float, bias: Tensor?, relu: Bool) throws {
        let (m, n, k) = OpCheck.gemmDimensions(a, transposeA: transposeA, b, transposeB: transposeB)
        let (tuning, table) = GemmShapeClass.of(m: m, n: n) == .square
            ? (gemmTuning, gemmKernels) : (skinnyGemmTuning, skinnyGemmKernels ?? gemmKernels)
        guard tuning.family == .tiled else {
            try uncheckedGemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: alpha, beta: 0)
            if let bias { try uncheckedAddRowVector(bias, to: c) }
            if relu { try uncheckedActivationForward(.relu, c, into: c) }
            return
        }
        let (memA, memB, memC) = (try mem(a, "gemm"), try mem(b, "gemm"), try mem(c, "gemm"))
        let memBias = try bias.map { try mem($0, "gemm") }
        try locked {
            try enqueueTiledGemm(tuning, table, m: m, n: n, k: k, memA, transposeA, memB, transposeB, memC, alpha: alpha, beta: 0,
                                 bias: memBias, relu: relu)
        }
    }

    /// The tiled family (see Kernels/gemm.cl): one launch, or with split K a launch into per-slice
    /// scratch, then a reduction that applies alpha and beta. Call under the lock.
    private func enqueueTiledGemm(_ tuning: GemmTuning, _ table: KernelTable, m: Int, n: Int, k: Int,
                                  _ a: cl_mem, _ transposeA: Bool, _ b: cl_mem, _ transposeB: Bool,
                                  _ c: cl_mem, alpha: Float, beta: Float, bias: cl_mem?, relu: Bool) throws {
        // Bit 0: add the bias row; bit 1: ReLU (EPILOGUE_BIAS, EPILOGUE_RELU in gemm.cl). An unused bias
        // argument still needs a valid buffer, so C stands in.
        let epilogue = (bias == nil ? 0 : 1) | (relu ? 2 : 0)
        let biasArgument = bias ?? c
        let kernel: KernelName = switch (transposeA, transposeB) {
        case (false, false): .gemmTiledNN
        case (false, true): .gemmTiledNT
        case (true, false): .gemmTiledTN
        case (true, true): .gemmTiledTT
        }
        var (splits, kPerSplit) = tuning.kSlices(m: m, n: n, k: k, computeUnits: device.computeUnits)
        if splits > 1, m * n > OpCheck.maxElements / splits { (splits, kPerSplit) = (1, k) }   // scratch would overflow int
        let groups = ((n + tuning.nwg - 1) / tuning.nwg, (m + tuning.mwg - 1) / tuning.mwg * splits)
        let global = (groups.0 * tuning.ndimc, groups.1 * tuning.mdimc), local = (tuning.ndimc, tuning.mdimc)
        guard splits > 1 else {
            try table.launch(kernel, on: queue, [.int(m), .int(n), .int(k), .float(alpha), .buffer(a), .buffer(b), .float(beta),
                                                 .buffer(c), .int(kPerSplit), .buffer(biasArgument), .int(epilogue)],
                             global: global, local: local)
            return
        }
        let partials = try scratchBuffer(.gemmSplitK, count: splits * m * n)
        try table.launch(kernel, on: queue, [.int(m), .int(n), .int(k), .float(1), .buffer(a), .buffer(b), .float(0),
                                             .buffer(partials), .int(kPerSplit), .buffer(biasArgument), .int(0)],
                         global: global, local: local)
        try table.launch(.gemmSplitKReduce, on: queue, [.int(m * n), .int(splits), .float(alpha), .buffer(partials), .float(beta), .buffer(c),
                                                        .int(n), .buffer(biasArgument), .int(epilogue)],
                         global: (m * n, 1), local: (Self.flatGroupSize, 1))
    }

    /// The vector family (see Kernels/gemm.cl): a narrow kernel for N ≤ one vector, else op(B) packed into
    /// K × NR panels (an O(k·n) copy against the O(m·n·k) product, so that the micro-kernel streams
    /// through B in order) and op(A) read in place or, when the tuning says so, packed too. Call under the lock.
    private func enqueueVectorGemm(_ tuning: GemmTuning, _ table: KernelTable, m: Int, n: Int, k: Int,
                                   _ a: cl_mem, _ transposeA: Bool, _ b: cl_mem, _ transposeB: Bool,
                                   _ c: cl_mem, alpha: Float, beta: Float) throws {
        func launch<let count: Int>(_ name: KernelName, _ arguments: InlineArray<count, KernelArgument>,
                                    global: (Int, Int), local: (Int, Int)) throws {
            try table.launch(name, on: queue, arguments, global: global, local: local)
        }
        let group = Self.flatGroupSize
        // op(A)[i][k] = a[i·aRow + k·aStep] for A (aRow = K, aStep = 1) and for A^T (aRow = 1, aStep = M).
        let (aRow, aStep) = transposeA ? (1, m) : (k, 1)
        let vw = tuning.vectorWidth
        if n <= vw {
            var bSource = b, bStep = n, safeK: Int
            if transposeB {
                bSource = try scratchBuffer(.gemmPackedB, count: k * vw)
                try launch(.gemmPackBNarrow, [.buffer(b), .int(1), .int(n), .int(k), .int(vw), .buffer(bSource)],
                           global: (k, vw), local: (group, 1))
                (bStep, safeK) = (vw, k)
            } else {
                // Rows k whose vector load b[k·n ..< k·n + VW] stays inside B's k·n floats.
                safeK = k * n >= vw ? (k * n - vw) / n + 1 : 0
            }
            try launch(.gemmVectorNarrow, [.int(m), .int(n), .int(k), .float(alpha), .buffer(a), .int(aRow), .int(aStep),
                                           .buffer(bSource), .int(bStep), .int(safeK), .float(beta), .buffer(c)],
                       global: ((m + tuning.narrowRows - 1) / tuning.narrowRows, 1), local: (1, 1))
            return
        }
        let nr = tuning.nr
        let paddedN = (n + nr - 1) / nr * nr
        let paddedM = (m + tuning.mr - 1) / tuning.mr * tuning.mr
        guard k <= OpCheck.maxElements / paddedN, k <= OpCheck.maxElements / paddedM else {
            throw NNError.sizeOverflow(op: "gemm", detail: "operands of \(m)×\(k) and \(k)×\(n) padded to whole panels exceed 2³¹−1 elements")
        }
        let packedB = try scratchBuffer(.gemmPackedB, count: k * paddedN)
        try launch(.gemmPackB, [.buffer(b), .int(transposeB ? 1 : 0), .int(n), .int(k), .int(paddedN), .buffer(packedB)],
                   global: transposeB ? (k, paddedN) : (paddedN, k), local: (group, 1))
        var aSource = a, aPanel = tuning.mr * (transposeA ? 1 : k), aRowStride = aRow, aStepStride = aStep
        if tuning.packA && !transposeA {
            aSource = try scratchBuffer(.gemmPackedA, count: k * paddedM)
            try launch(.gemmPackA, [.buffer(a), .int(0), .int(m), .int(k), .buffer(aSource)],
                       global: (k, paddedM / tuning.mr), local: (group, 1))
            (aPanel, aRowStride, aStepStride) = (k * tuning.mr, 1, tuning.mr)
        }
        try launch(.gemmVector, [.int(m), .int(n), .int(k), .float(alpha), .buffer(aSource), .int(aPanel), .int(aRowStride),
                                 .int(aStepStride), .buffer(packedB), .float(beta), .buffer(c)],
                   global: (paddedN / nr, paddedM / tuning.mr), local: (1, 1))
    }

    public func uncheckedAddRowVector(_ bias: Tensor, to x: Tensor) throws {
        let (memBias, memX) = (try mem(bias, "addRowVector"), try mem(x, "addRowVector"))
        try locked {
            try launchFlat(.addRowVector, [.buffer(memBias), .buffer(memX), .int(x.columns), .int(x.count)], count: x.count)
        }
    }

    public func uncheckedColumnSums(_ x: Tensor, into out: Tensor, alpha: Float, beta: Float) throws {
        let (memX, memOut) = (try mem(x, "columnSums"), try mem(out, "columnSums"))
        let (rows, columns) = (x.rows, x.columns)
        if memoryKernels == .workGroup {
            try locked {
                let chunking = laneColumnChunking(rows: rows)
                let partials = try scratchBuffer(.partials, count: chunking.count * columns)
                try launchColumnChunks(.columnPartialsLanes, [.buffer(memX), .int(rows), .int(columns), .int(chunking.rowsPerChunk),
                                                              .buffer(partials), .float(alpha), .float(beta), .buffer(memOut)],
                                       columns: columns, chunks: chunking.count)
                guard chunking.count > 1 else { return }
                try launchColumnChunks(.columnFinishLanes, [.buffer(partials), .int(chunking.count), .int(columns), .float(alpha),
                                                            .float(beta), .buffer(memOut)],
                                       columns: columns, chunks: 1)
            }
            return
        }
        try locked {
            let chunking = columnChunking(rows: rows)
            let partials = try scratchBuffer(.partials, count: chunking.count * columns)
            // One chunk writes `out` itself (what column_finish would: the Kahan sum of one partial is that partial).
            try launch(.columnPartials, [.buffer(memX), .int(rows), .int(columns), .int(chunking.rowsPerChunk), .buffer(partials),
                                         .float(alpha), .float(beta), .buffer(memOut)],
                       global: (columns, chunking.count), local: (Self.flatGroupSize, 1))
            guard chunking.count > 1 else { return }
            try launchFlat(.columnFinish, [.buffer(partials), .int(chunking.count), .int(columns), .float(alpha), .float(beta),
                                           .buffer(memOut)], count: columns)
        }
    }

    public func uncheckedReduce(_ reduction: Reduction, _ x: Tensor, into out: Tensor, accumulate: Bool) throws {
        let mode = switch reduction {
        case .sum: 0
        case .sumOfSquares: 1
        case .sumOfAbsolute: 2
        }
        let (memX, memOut) = (try mem(x, "reduce"), try mem(out, "reduce"))
        try locked {
            try enqueueTotal(memX, count: x.count, mode: mode, scale: 1, accumulate: accumulate, into: memOut)
        }
    }

    // MARK: Shared reduction plumbing (call under the lock)

    /// Row chunks for column reductions: enough chunks to occupy the device on tall matrices, each long
    /// enough that the per-chunk Kahan sum does the work and the second pass stays short.
    func columnChunking(rows: Int) -> (count: Int, rowsPerChunk: Int) {
        let count = min(128, max(1, rows / 512))
        return (count, (rows + count - 1) / count)
    }

    /// Row chunks of the GPU-shaped column sums: one chunk, and one launch, up to 256 rows (32 per row
    /// lane, 8 loads of 4 rows in flight: a batch's bias gradient), else chunks of about 256 rows,
    /// whose sums a second launch combines.
    func laneColumnChunking(rows: Int) -> (count: Int, rowsPerChunk: Int) {
        Self.columnLaneChunking(rows: rows, targetRowsPerChunk: 256)
    }

    /// out ← scale·Σ f(x) (+ out when accumulating), f chosen by `mode` (0: x, 1: x², 2: |x|).
    func enqueueTotal(_ x: cl_mem, count: Int, mode: Int, scale: Float, accumulate: Bool, into out: cl_mem) throws {
        let group = Self.reduceGroupSize
        // Up to 64 groups, each item covering at least 16 elements before the tree.
        let groups = min(64, max(1, count / (group * 16)))
        let partials = try scratchBuffer(.partials2, count: groups)
        // One group writes `out` itself (the same value reduce_finish would: the Kahan sum of one partial is that partial).
        try launch(.reducePartials, [.buffer(x), .int(count), .int(mode), .buffer(partials), .float(scale), .int(accumulate ? 1 : 0),
                                     .buffer(out)],
                   global: (groups * group, 1), local: (group, 1))
        guard groups > 1 else { return }
        try launch(.reduceFinish, [.buffer(partials), .int(groups), .float(scale), .int(accumulate ? 1 : 0), .buffer(out)],
                   global: (group, 1), local: (group, 1))
    }
}
