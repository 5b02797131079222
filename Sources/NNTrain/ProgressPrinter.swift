import Foundation

/// A ready progress reporter for ``Trainer``: one readable line per epoch and, when asked, a line
/// of batch progress at most every ``batchInterval`` seconds, written to standard error (or to any
/// function that takes a line).
///
/// ```swift
/// let trainer = try Trainer(network: network, config: .recommended)
/// ProgressPrinter(showsBatches: true).attach(to: trainer)
/// try trainer.fit(train: train, dev: dev)
/// // epoch 1/10: train loss 0.4127 acc 88.52 % | dev loss 0.2011 acc 94.12 % | lr 0.001 | 21.3k samples/s | 0.1 s
/// ```
///
/// Lines never redraw in place, so the output reads the same in a terminal, a log file and CI.
public final class ProgressPrinter {
    /// Whether ``progressed(_:)`` writes batch lines (epoch lines are always written).
    public let showsBatches: Bool
    /// The fewest seconds between two batch lines; the end of an epoch always gets its line.
    public let batchInterval: Double
    private let write: (String) -> Void
    private var lastBatchLine = Date.distantPast

    /// - Parameters:
    ///   - showsBatches: also write a batch-progress line (throttled by `batchInterval`).
    ///   - batchInterval: seconds between batch lines, at least 0.
    ///   - write: receives each line without its newline; by default writes it to standard error.
    public init(showsBatches: Bool = false, batchInterval: Double = 1, write: @escaping (String) -> Void = ProgressPrinter.writeToStandardError) {
        self.showsBatches = showsBatches
        self.batchInterval = max(0, batchInterval)
        self.write = write
    }

    /// Sets the trainer's ``Trainer/onEpoch`` and ``Trainer/onProgress`` to this printer, after any
    /// handler already set there (which keeps running first, so a checkpoint is written before the
    /// line that reports it).
    public func attach(to trainer: Trainer) {
        let epochs = trainer.config.epochs
        let previousEpoch = trainer.onEpoch
        let previousProgress = trainer.onProgress
        trainer.onEpoch = { [self] metrics in
            try previousEpoch?(metrics)
            epochEnded(metrics, of: epochs)
        }
        trainer.onProgress = { [self] progress in
            previousProgress?(progress)
            progressed(progress)
        }
    }

    /// Writes the epoch's line; `epochs` is the run's total, shown as "epoch 3/10".
    public func epochEnded(_ metrics: EpochMetrics, of epochs: Int? = nil) {
        write(Self.line(for: metrics, of: epochs))
    }

    /// Writes a batch line when ``showsBatches`` is on and ``batchInterval`` has passed (or the epoch's
    /// last batch is done).
    public func progressed(_ progress: BatchProgress) {
        guard showsBatches else { return }
        let now = Date()
        guard now.timeIntervalSince(lastBatchLine) >= batchInterval || progress.batchesDone == progress.batchesPerEpoch else { return }
        lastBatchLine = now
        write(Self.line(for: progress))
    }

    /// "epoch 3/10: train loss 0.1234 acc 96.10 % | dev loss 0.2000 acc 95.00 % | lr 0.000905 | 12.3k samples/s | 1.2 s".
    public static func line(for m: EpochMetrics, of epochs: Int? = nil) -> String {
        var text = "epoch \(m.epoch)\(epochs.map { "/\($0)" } ?? "")\(m.isComplete ? "" : " (partial)"): "
            + "train loss \(fixed(m.trainLoss)) acc \(percent(m.trainAccuracy))"
        if let loss = m.devLoss, let accuracy = m.devAccuracy { text += " | dev loss \(fixed(loss)) acc \(percent(accuracy))" }
        text += " | lr \(String(format: "%.3g", Double(m.learningRate))) | \(rate(m.samplesPerSecond)) samples/s"
            + " | \(String(format: "%.1f", m.seconds)) s"
        return text
    }

    /// "epoch 3/10 batch 120/422: loss 0.1234 acc 96.10 % | 12.3k samples/s".
    public static func line(for p: BatchProgress) -> String {
        "epoch \(p.epoch)/\(p.epochs) batch \(p.batchesDone)/\(p.batchesPerEpoch): loss \(fixed(p.loss)) acc \(percent(p.accuracy))"
            + " | \(rate(p.samplesPerSecond)) samples/s"
    }

    /// Writes `line` and a newline to standard error (unbuffered, so lines show up as they happen).
    public static func writeToStandardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    private static func percent(_ fraction: Double) -> String { String(format: "%.2f %%", fraction * 100) }
    private static func fixed(_ x: Double) -> String { String(format: "%.4f", x) }
    private static func rate(_ perSecond: Double) -> String {
        perSecond >= 10_000 ? String(format: "%.1fk", perSecond / 1000) : String(format: "%.0f", perSecond)
    }
}
