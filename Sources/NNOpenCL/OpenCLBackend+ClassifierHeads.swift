import COpenCL
import NNCore

extension OpenCLBackend {
    /// Row kernels serve R rows per work-group with L items each (L·R = 64): (64, 1) for wide rows,
    /// (4, 16) for narrow ones such as 10 classes, so a 10⁴-row evaluation batch is 625 work-groups, not 10⁴.
    func rowGroup(columns: Int) -> (Int, Int) {
        columns >= 64 ? (Self.rowGroupItems, 1) : (4, Self.rowGroupItems / 4)
    }

    /// The GPU softmax's (L, R): L items per row, the smallest power of two whose items' register
    /// caches (`gpuRowCache` float4 each) hold the row, at least 4 and at most the whole work-group;
    /// R = work-group / L rows per work-group. 1000 columns: (64, 4); 10 columns: (4, 64). Rows that
    /// are not whole float4 vectors take the scalar path, which keeps nothing in registers: there L
    /// gives each item about `gpuRowCache` elements per sweep.
    func gpuRowGroup(columns: Int) -> (Int, Int) {
        let group = Self.gpuGroupSize
        let perItem = columns % 4 == 0 ? 4 * Self.gpuRowCache : Self.gpuRowCache
        var items = 4
        while items < group && items * perItem < columns { items *= 2 }
        return (items, group / items)
    }

    func launchRows<let n: Int>(_ name: KernelName, _ arguments: InlineArray<n, KernelArgument>, rows: Int, columns: Int) throws {
        let local = memoryKernels == .workGroup && name != .argmaxRows ? gpuRowGroup(columns: columns) : rowGroup(columns: columns)
        let groups = (rows + local.1 - 1) / local.1
        try launch(name, arguments, global: (local.0, groups * local.1), local: local)
    }

    public func uncheckedSoftmax(_ x: Tensor, into y: Tensor) throws {
        let (memX, memY) = (try mem(x, "softmax"), try mem(y, "softmax"))
        try locked {
            if memoryKernels == .vector {
                try launch(.softmaxRowsVector, [.buffer(memX), .buffer(memY), .int(x.rows), .int(x.columns)], global: (x.rows, 1), local: (1, 1))
            } else {
                try launchRows(.softmaxRows, [.buffer(memX), .buffer(memY), .int(x.rows), .int(x.columns)], rows: x.rows, columns: x.columns)
            }
        }
    }

    public func uncheckedSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        let memLoss = try mem(loss, "softmaxCrossEntropy")
        try locked {
            let rowLoss = try enqueueSoftmaxCrossEntropy(logits, labels: labels, gradient: gradient, rowMatches: nil)
            try enqueueTotal(rowLoss, count: logits.rows, mode: 0, scale: 1 / Float(logits.rows), accumulate: false, into: memLoss)
        }
    }

    /// Two launches: the cross-entropy kernel also flags the rows whose arg-max is their label, and
    /// `head_totals` sums both per-row arrays into the loss and the totals. (Apart: the cross-entropy,
    /// the loss's sum, the axpy into lossSum, argmax_rows and the count's sum.)
    public func uncheckedSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor,
                                             lossSum: Tensor, correctCount: Tensor) throws {
        let op = "softmaxCrossEntropy"
        let memLoss = try mem(loss, op), memLossSum = try mem(lossSum, op), memCount = try mem(correctCount, op)
        let m = logits.rows
        try locked {
            let rowMatches = try scratchBuffer(.perRowMatches, count: m)
            let rowLoss = try enqueueSoftmaxCrossEntropy(logits, labels: labels, gradient: gradient, rowMatches: rowMatches)
            try launch(.headTotals, [.buffer(rowLoss), .buffer(rowMatches), .int(m), .float(1 / Float(m)), .buffer(memLoss),
                                     .buffer(memLossSum), .buffer(memCount)],
                       global: (Self.reduceGroupSize, 1), local: (Self.reduceGroupSize, 1))
        }
    }

    /// Enqueues the cross-entropy kernel of this backend's shape, writing each row's loss into a
    /// scratch buffer (returned) and, given `rowMatches`, 1 or 0 per row for whether its arg-max is
    /// its label. Call under the lock.
    private func enqueueSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, rowMatches: cl_mem?) throws -> cl_mem {
        let op = "softmaxCrossEntropy"
        let (m, n) = (logits.rows, logits.columns)
        let memZ = try mem(logits, op), memLabels = try mem(labels, op), memGrad = try mem(gradient, op)
        let rowLoss = try scratchBuffer(.perRowValues, count: m)
        // Without rowMatches the kernel never writes its flags; rowLoss stands in for the buffer.
        let arguments: InlineArray<9, KernelArgument> = [.buffer(memZ), .buffer(memLabels), .buffer(memGrad), .buffer(rowLoss), .int(m),
                                                         .int(n), .float(Float(m)), .buffer(rowMatches ?? rowLoss),
                                                         .int(rowMatches == nil ? 0 : 1)]
        if memoryKernels == .vector {
            try launch(.softmaxXentVector, arguments, global: (m, 1), local: (1, 1))
        } else {
            try launchRows(.softmaxXent, arguments, rows: m, columns: n)
        }
        return rowLoss
    }

    public func uncheckedSigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        let op = "sigmoidCrossEntropy"
        let m = logits.rows
        let memZ = try mem(logits, op), memLabels = try mem(labels, op), memGrad = try mem(gradient, op), memLoss = try mem(loss, op)
        try locked {
            let elementLoss = try scratchBuffer(.perRowValues, count: m)
            try launchFlat(.sigmoidXent, [.buffer(memZ), .buffer(memLabels), .buffer(memGrad), .buffer(elementLoss), .int(m),
                                          .float(Float(m))], count: m)
            try enqueueTotal(elementLoss, count: m, mode: 0, scale: 1 / Float(m), accumulate: false, into: memLoss)
        }
    }

    public func uncheckedArgmaxRows(_ x: Tensor, into out: Tensor) throws {
        let (memX, memOut) = (try mem(x, "argmaxRows"), try mem(out, "argmaxRows"))
        try locked {
            // The labels argument is unused without `compare`; x stands in for it.
            try launchRows(.argmaxRows, [.buffer(memX), .buffer(memX), .buffer(memOut), .int(x.rows), .int(x.columns), .int(0)],
                           rows: x.rows, columns: x.columns)
        }
    }

    public func uncheckedAccumulateArgmaxMatches(_ x: Tensor, labels: Tensor, into count: Tensor) throws {
        let op = "accumulateArgmaxMatches"
        let memX = try mem(x, op), memLabels = try mem(labels, op), memCount = try mem(count, op)
        try locked {
            let matches = try scratchBuffer(.perRowValues, count: x.rows)
            try launchRows(.argmaxRows, [.buffer(memX), .buffer(memLabels), .buffer(matches), .int(x.rows), .int(x.columns), .int(1)],
                           rows: x.rows, columns: x.columns)
            try enqueueTotal(matches, count: x.rows, mode: 0, scale: 1, accumulate: true, into: memCount)
        }
    }
}
