import NNCore

/// Batch normalisation per feature (column), PyTorch `BatchNorm1d` numerics, in `Kernels/batchnorm.cl`.
/// Statistics are two-pass (mean, then Σ(x − μ)²) over row chunks with Kahan-compensated float sums,
/// so a 10⁵-row batch with |μ| ≫ σ keeps its variance. The ``MemoryKernelFamily/vector`` family does each
/// direction in one kernel over whole columns; the work-group family in row chunks plus combining passes.
extension OpenCLBackend {
    public func uncheckedBatchNormForwardTraining(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, averagingBeta: Float, epsilon: Float,
        output y: Tensor, savedMean: Tensor, savedInverseStd: Tensor) throws {
        let op = "batchNormForwardTraining"
        let (m, n) = (x.rows, x.columns)
        let memX = try mem(x, op), memY = try mem(y, op), memGamma = try mem(gamma, op), memBeta = try mem(beta, op)
        let memRunMean = try mem(runningMean, op), memRunVar = try mem(runningVariance, op)
        let memMean = try mem(savedMean, op), memInvStd = try mem(savedInverseStd, op)
        if memoryKernels == .vector {
            try locked {
                try launch(.bnForwardColumns, [.buffer(memX), .buffer(memGamma), .buffer(memBeta), .int(m), .int(n), .float(epsilon),
                                               .float(averagingBeta), .buffer(memY), .buffer(memMean), .buffer(memInvStd),
                                               .buffer(memRunMean), .buffer(memRunVar)],
                           global: (columnBlocks(n), 1), local: (1, 1))
            }
            return
        }
        try locked {
            // Pass 1: μ = Σx / m.
            let sums = try enqueueColumnPartials(memX, rows: m, columns: n)
            try launchFlat(.columnFinish, [.buffer(sums.partials), .int(sums.count), .int(n), .float(1 / Float(m)), .float(0),
                                           .buffer(memMean)], count: n)
            // Pass 2: Σ(x − μ)², then 1/σ and the running statistics.
            let chunking = columnChunking(rows: m)
            let squares = try scratchBuffer(.partials, count: chunking.count * n)
            try launch(.bnCenteredSquarePartials, [.buffer(memX), .buffer(memMean), .int(m), .int(n), .int(chunking.rowsPerChunk),
                                                   .buffer(squares)],
                       global: (n, chunking.count), local: (Self.flatGroupSize, 1))
            try launchFlat(.bnFinishStatistics, [.buffer(squares), .int(chunking.count), .int(n), .int(m), .float(epsilon),
                                                 .float(averagingBeta), .buffer(memMean), .buffer(memInvStd),
                                                 .buffer(memRunMean), .buffer(memRunVar)], count: n)
            try launchFlat(.bnNormalize, [.buffer(memX), .buffer(memMean), .buffer(memInvStd), .buffer(memGamma), .buffer(memBeta),
                                          .buffer(memY), .int(n), .int(x.count)], count: x.count)
        }
    }

    public func uncheckedBatchNormForwardInference(
        _ x: Tensor, gamma: Tensor, beta: Tensor,
        runningMean: Tensor, runningVariance: Tensor, epsilon: Float,
        output y: Tensor) throws {
        let op = "batchNormForwardInference"
        let memX = try mem(x, op), memY = try mem(y, op), memGamma = try mem(gamma, op), memBeta = try mem(beta, op)
        let memRunMean = try mem(runningMean, op), memRunVar = try mem(runningVariance, op)
        try locked {
            try launchFlat(.bnInference, [.buffer(memX), .buffer(memRunMean), .buffer(memRunVar), .buffer(memGamma), .buffer(memBeta),
                                          .float(epsilon), .buffer(memY), .int(x.columns), .int(x.count)], count: x.count)
        }
    }

    public func uncheckedBatchNormBackward(
        _ x: Tensor, gradOutput dy: Tensor, gamma: Tensor,
        savedMean: Tensor, savedInverseStd: Tensor,
        gradInput dx: Tensor, gradGamma: Tensor, gradBeta: Tensor) throws {
        let op = "batchNormBackward"
        let (m, n) = (x.rows, x.columns)
        let memX = try mem(x, op), memDy = try mem(dy, op), memDx = try mem(dx, op), memGamma = try mem(gamma, op)
        let memMean = try mem(savedMean, op), memInvStd = try mem(savedInverseStd, op)
        let memDGamma = try mem(gradGamma, op), memDBeta = try mem(gradBeta, op)
        if memoryKernels == .vector {
            try locked {
                try launch(.bnBackwardColumns, [.buffer(memX), .buffer(memDy), .buffer(memMean), .buffer(memInvStd), .buffer(memGamma),
                                                .int(m), .int(n), .buffer(memDx), .buffer(memDGamma), .buffer(memDBeta)],
                           global: (columnBlocks(n), 1), local: (1, 1))
            }
            return
        }
        try locked {
            let chunking = columnChunking(rows: m)
            let partialsDy = try scratchBuffer(.partials, count: chunking.count * n)
            let partialsDyXhat = try scratchBuffer(.partials2, count: chunking.count * n)
            try launch(.bnBackwardPartials, [.buffer(memX), .buffer(memDy), .buffer(memMean), .buffer(memInvStd), .int(m), .int(n),
                                             .int(chunking.rowsPerChunk), .buffer(partialsDy), .buffer(partialsDyXhat)],
                       global: (n, chunking.count), local: (Self.flatGroupSize, 1))
            try launchFlat(.bnBackwardFinish, [.buffer(partialsDy), .buffer(partialsDyXhat), .int(chunking.count), .int(n),
                                               .buffer(memDGamma), .buffer(memDBeta)], count: n)
            try launchFlat(.bnBackwardDx, [.buffer(memX), .buffer(memDy), .buffer(memMean), .buffer(memInvStd), .buffer(memGamma),
                                           .buffer(memDGamma), .buffer(memDBeta), .float(Float(m)), .buffer(memDx), .int(n),
                                           .int(x.count)], count: x.count)
        }
    }

    /// Work-items of the whole-column kernels: one per block of 16 · `batchNormVectors` features.
    private func columnBlocks(_ n: Int) -> Int {
        let width = 16 * Self.batchNormVectors
        return (n + width - 1) / width
    }
}
