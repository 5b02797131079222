import NNCore

/// Batch normalisation per feature (column), PyTorch `BatchNorm1d` numerics, in `Kernels/batchnorm.cl`.
/// Statistics are two-pass accurate (mean, then Σ(x − μ)²) with Kahan-compensated float sums, so a
/// 10⁵-row batch with |μ| ≫ σ keeps its variance. The ``MemoryKernelFamily/vector`` (CPU) shape does each
/// direction in one kernel over whole columns; the ``MemoryKernelFamily/workGroup`` (GPU) shape reduces
/// coalesced row chunks in work-groups, combines the chunks in a second pass (for the variance: each
/// chunk's own squared deviations plus its rows × (chunk mean − mean)², exact), and runs the
/// element-wise pass as a float4 grid-stride loop; up to `batchNormOneLaunchRows` rows it makes
/// the same sweeps in one launch, a work-group per block of columns over all rows.
///
/// Batch norm followed by ReLU runs the same kernels with their `relu` argument set: the forward
/// stores max(0, y) in its element-wise pass, and the backward reads dz masked by the ReLU's output
/// wherever it reads dy, so the fused pair costs no pass over memory beyond batch norm's own.
extension OpenCLBackend {
    public func uncheckedBatchNormForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output y: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws {
        try batchNormForwardTraining(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVariance: runningVariance,
                                     averagingBeta: averagingBeta, epsilon: epsilon, output: y, savedMean: savedMean,
                                     savedInverseStd: savedInverseStd, relu: false, op: "batchNormForwardTraining")
    }

    public func uncheckedBatchNormReLUForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output z: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws {
        try batchNormForwardTraining(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVariance: runningVariance,
                                     averagingBeta: averagingBeta, epsilon: epsilon, output: z, savedMean: savedMean,
                                     savedInverseStd: savedInverseStd, relu: true, op: "batchNormForwardTraining")
    }

    public func uncheckedBatchNormForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output y: Tensor) throws {
        try batchNormForwardInference(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVariance: runningVariance,
                                      epsilon: epsilon, output: y, relu: false, op: "batchNormForwardInference")
    }

    public func uncheckedBatchNormReLUForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output z: Tensor) throws {
        try batchNormForwardInference(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVariance: runningVariance,
                                      epsilon: epsilon, output: z, relu: true, op: "batchNormForwardInference")
    }

    public func uncheckedBatchNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        try batchNormBackward(x, reluOutput: nil, gradOutput: dy, gamma: gamma, savedMean: savedMean,
                              savedInverseStd: savedInverseStd, gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta,
                              op: "batchNormBackward")
    }

    public func uncheckedBatchNormReLUBackward(
        _ x: Tensor, output z: Tensor, gradOutput dz: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        try batchNormBackward(x, reluOutput: z, gradOutput: dz, gamma: gamma, savedMean: savedMean,
                              savedInverseStd: savedInverseStd, gradInput: dx, gradGamma: gradGamma, gradBeta: gradBeta,
                              op: "batchNormBackward")
    }

    // MARK: Launches, shared by the plain and the fused ops

    private func batchNormForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output y: Tensor, savedMean: Tensor, savedInverseStd: Tensor, relu: Bool, op: String) throws {
        let (m, n) = (x.rows, x.columns)
        let memX = try mem(x, op), memY = try mem(y, op), memGamma = try mem(gamma, op), memBeta = try mem(beta, op)
        let memRunMean = try mem(runningMean, op), memRunVar = try mem(runningVariance, op)
        let memMean = try mem(savedMean, op), memInvStd = try mem(savedInverseStd, op)
        if memoryKernels == .vector {
            try locked {
                try launch(.bnForwardColumns, [.buffer(memX), .buffer(memGamma), .buffer(memBeta), .int(m), .int(n), .float(epsilon),
                                               .float(averagingBeta), .buffer(memY), .buffer(memMean), .buffer(memInvStd),
                                               .buffer(memRunMean), .buffer(memRunVar), .int(relu ? 1 : 0)],
                           global: (columnBlocks(n), 1), local: (1, 1))
            }
            return
        }
        try locked {
            if m <= Self.batchNormOneLaunchRows {
                try launchColumnChunks(.bnForwardColumnGroups, [.buffer(memX), .buffer(memGamma), .buffer(memBeta), .int(m), .int(n),
                                                                .float(epsilon), .float(averagingBeta), .buffer(memY), .buffer(memMean),
                                                                .buffer(memInvStd), .buffer(memRunMean), .buffer(memRunVar),
                                                                .int(relu ? 1 : 0)],
                                       columns: n, chunks: 1)
                return
            }
            // Pass 1 per chunk of rows: Σx and Σ(x − chunk mean)²; pass 2 combines the chunks per column
            // into μ, 1/σ and the running statistics; pass 3 normalises.
            let chunking = gpuColumnChunking(rows: m)
            let sums = try scratchBuffer(.partials, count: chunking.count * n)
            let squares = try scratchBuffer(.partials2, count: chunking.count * n)
            try launchColumnChunks(.bnStatisticsPartials, [.buffer(memX), .int(m), .int(n), .int(chunking.rowsPerChunk),
                                                           .buffer(sums), .buffer(squares)],
                                   columns: n, chunks: chunking.count)
            try launchColumnChunks(.bnStatisticsFinish, [.buffer(sums), .buffer(squares), .int(chunking.count),
                                                         .int(chunking.rowsPerChunk), .int(m), .int(n), .float(epsilon),
                                                         .float(averagingBeta), .buffer(memMean), .buffer(memInvStd),
                                                         .buffer(memRunMean), .buffer(memRunVar)],
                                   columns: n, chunks: 1)
            try launchGridStride(.bnNormalize, [.buffer(memX), .buffer(memMean), .buffer(memInvStd), .buffer(memGamma), .buffer(memBeta),
                                                .buffer(memY), .int(n), .int(x.count), .int(relu ? 1 : 0)], items: vectorItems(x))
        }
    }

    private func batchNormForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output y: Tensor, relu: Bool, op: String) throws {
        let memX = try mem(x, op), memY = try mem(y, op), memGamma = try mem(gamma, op), memBeta = try mem(beta, op)
        let memRunMean = try mem(runningMean, op), memRunVar = try mem(runningVariance, op)
        try locked {
            let arguments: InlineArray<10, KernelArgument> = [.buffer(memX), .buffer(memRunMean), .buffer(memRunVar), .buffer(memGamma),
                                                              .buffer(memBeta), .float(epsilon), .buffer(memY), .int(x.columns),
                                                              .int(x.count), .int(relu ? 1 : 0)]
            if memoryKernels == .workGroup {
                try launchGridStride(.bnInferenceV4, arguments, items: vectorItems(x))
            } else {
                try launchFlat(.bnInference, arguments, count: x.count)
            }
        }
    }

    /// With `reluOutput` z, dy is the ReLU's dz and the kernels mask it by z; without, they get dy
    /// again in z's place (a valid buffer they do not read) and a relu argument of 0.
    private func batchNormBackward(
        _ x: Tensor, reluOutput z: Tensor?, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor, op: String) throws {
        let (m, n) = (x.rows, x.columns)
        let memX = try mem(x, op), memDy = try mem(dy, op), memDx = try mem(dx, op), memGamma = try mem(gamma, op)
        let memZ = try z.map { try mem($0, op) } ?? memDy, relu = KernelArgument.int(z == nil ? 0 : 1)
        let memMean = try mem(savedMean, op), memInvStd = try mem(savedInverseStd, op)
        let memDGamma = try mem(gradGamma, op), memDBeta = try mem(gradBeta, op)
        if memoryKernels == .vector {
            try locked {
                try launch(.bnBackwardColumns, [.buffer(memX), .buffer(memDy), .buffer(memZ), relu, .buffer(memMean),
                                                .buffer(memInvStd), .buffer(memGamma),
                                                .int(m), .int(n), .buffer(memDx), .buffer(memDGamma), .buffer(memDBeta)],
                           global: (columnBlocks(n), 1), local: (1, 1))
            }
            return
        }
        try locked {
            if m <= Self.batchNormOneLaunchRows {
                try launchColumnChunks(.bnBackwardColumnGroups, [.buffer(memX), .buffer(memDy), .buffer(memZ), relu, .buffer(memMean),
                                                                 .buffer(memInvStd), .buffer(memGamma), .int(m), .int(n), .buffer(memDx),
                                                                 .buffer(memDGamma), .buffer(memDBeta)],
                                       columns: n, chunks: 1)
                return
            }
            let chunking = gpuColumnChunking(rows: m)
            let partialsDy = try scratchBuffer(.partials, count: chunking.count * n)
            let partialsDyXhat = try scratchBuffer(.partials2, count: chunking.count * n)
            try launchColumnChunks(.bnBackwardPartials, [.buffer(memX), .buffer(memDy), .buffer(memZ), relu, .buffer(memMean),
                                                         .buffer(memInvStd), .int(m), .int(n), .int(chunking.rowsPerChunk),
                                                         .buffer(partialsDy), .buffer(partialsDyXhat)],
                                   columns: n, chunks: chunking.count)
            try launchColumnChunks(.bnBackwardFinish, [.buffer(partialsDy), .buffer(partialsDyXhat), .int(chunking.count), .int(n),
                                                       .buffer(memDGamma), .buffer(memDBeta)],
                                   columns: n, chunks: 1)
            try launchGridStride(.bnBackwardDx, [.buffer(memX), .buffer(memDy), .buffer(memZ), relu, .buffer(memMean),
                                                 .buffer(memInvStd), .buffer(memGamma),
                                                 .buffer(memDGamma), .buffer(memDBeta), .float(Float(m)), .buffer(memDx), .int(n),
                                                 .int(x.count)], items: vectorItems(x))
        }
    }

    /// The most rows the GPU shape normalises in one launch per direction (one work-group per block of
    /// 32 columns over all rows) rather than three (row chunks, their combination, the element-wise
    /// pass). One launch saves two launches and the partial sums' round trip: about 7 µs of driver
    /// time on the H200 (3.5 µs per pipelined launch, measured there) plus the drain between kernels.
    /// It costs parallelism: each of a group's lanes walks rows / 8 rows per sweep with 4 loads in
    /// flight, about 4 KB per group, so by Little's law (≈ 600 ns to memory) a sweep of 512 rows
    /// takes about as long as the launches it saves, and 128 or 256 rows well under. That is an
    /// estimate, not a GPU measurement. PoCL, which runs the GPU shapes only for tests, is no guide:
    /// it runs a work-group's items one after another, and there one launch was the slower (a
    /// forward and backward of 128 × 512 took 674 µs against 454 µs chunked, medians of 7).
    static let batchNormOneLaunchRows = 256

    /// Row chunks of the GPU-shaped batch-norm reductions: chunks of about 64 rows (8 per row lane) so
    /// a chunk's second sweep and its partial sums pay for themselves (a combining launch follows
    /// anyway); 4096 rows are 64 chunks, which with 1024 features makes 2048 work-groups.
    private func gpuColumnChunking(rows: Int) -> (count: Int, rowsPerChunk: Int) {
        Self.columnLaneChunking(rows: rows, targetRowsPerChunk: 64)
    }

    /// Work units of the GPU-shaped element-wise batch-norm passes: float4 vectors when rows are whole
    /// vectors (the kernels' own test), else elements.
    private func vectorItems(_ x: Tensor) -> Int {
        x.columns % 4 == 0 ? x.count / 4 : x.count
    }

    /// Work-items of the whole-column kernels: one per block of 16 · `batchNormVectors` features.
    private func columnBlocks(_ n: Int) -> Int {
        let width = 16 * Self.batchNormVectors
        return (n + width - 1) / width
    }
}
