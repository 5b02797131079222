import NNCore

/// Loss and accuracy of a network on a data set, computed in evaluation mode.
public struct Evaluation: Sendable, Codable, Equatable {
    /// Mean cross-entropy (no weight penalty).
    public var loss: Double
    /// Fraction of samples classified correctly, in [0, 1].
    public var accuracy: Double
    /// Samples evaluated.
    public var count: Int

    /// 1 − accuracy.
    public var error: Double { 1 - accuracy }
}

extension Network {
    /// Mean loss and accuracy over `data` in evaluation mode (``mode`` is restored afterwards).
    /// Loss and correct counts accumulate on the device; two scalars come back at the end.
    public func evaluate(_ data: Dataset, batchSize: Int = 1024) throws -> Evaluation {
        try BatchLoader.check(data, fits: self)
        guard !data.isEmpty else {
            throw NNError.invalidData(source: data.name, detail: "cannot evaluate on an empty data set")
        }
        guard batchSize >= 1 else {
            throw NNError.invalidArgument(op: "evaluate", detail: "batch size \(batchSize) must be at least 1")
        }
        let previous = mode
        mode = .evaluation
        defer { mode = previous }
        let lossSum = evaluationScratch.loss, correct = evaluationScratch.correct
        try backend.fill(lossSum, with: 0)
        try backend.fill(correct, with: 0)
        let order = Array(0..<data.count)
        for start in stride(from: 0, to: data.count, by: batchSize) {
            let rows = order[start..<min(start + batchSize, data.count)]
            let batch = try evaluationLoader.load(data, rows: rows, normalizer: normalizer)
            let logits = try forward(batch.inputs)
            try addLoss(logits: logits, labels: batch.labels, toLossSum: lossSum, correct: correct)
        }
        let n = Double(data.count)
        return Evaluation(loss: Double(try backend.scalar(lossSum)) / n,
                          accuracy: Double(try backend.scalar(correct)) / n, count: data.count)
    }

    /// Class probabilities per sample (count × classes, row-major) in evaluation mode. For the
    /// sigmoid head the two columns are 1 − σ(z) and σ(z).
    public func predictProbabilities(_ data: Dataset, batchSize: Int = 1024) throws -> [Float] {
        try BatchLoader.check(data, fits: self)
        guard batchSize >= 1 else {
            throw NNError.invalidArgument(op: "predict", detail: "batch size \(batchSize) must be at least 1")
        }
        let previous = mode
        mode = .evaluation
        defer { mode = previous }
        var probabilities: [Float] = []
        probabilities.reserveCapacity(data.count * spec.classes)
        var outputs = BatchBufferCache<Tensor>()
        let order = Array(0..<data.count)
        for start in stride(from: 0, to: data.count, by: batchSize) {
            let rows = order[start..<min(start + batchSize, data.count)]
            let batch = try evaluationLoader.load(data, rows: rows, normalizer: normalizer)
            let logits = try forward(batch.inputs)
            let out = try outputs.buffers(rows: rows.count) { try backend.makeTensor(logits.shape) }
            switch spec.head {
            case .softmax:
                try backend.softmax(logits, into: out)
                probabilities += try backend.download(out)
            case .sigmoid:
                try backend.activationForward(.sigmoid, logits, into: out)
                for p in try backend.download(out) { probabilities += [1 - p, p] }
            }
        }
        return probabilities
    }

    /// The predicted class of each sample (arg-max of the probabilities; first on ties).
    public func predictClasses(_ data: Dataset, batchSize: Int = 1024) throws -> [Int32] {
        let p = try predictProbabilities(data, batchSize: batchSize)
        return predictions(fromProbabilities: p).map { Int32($0.classIndex) }
    }
}
