import Foundation
import NNTrain

/// A one-line progress bar on stderr, redrawn in place: epoch, batches done, running loss and
/// accuracy, samples/s and the time left in the epoch. Drawn only on a terminal; in logs and pipes
/// the per-epoch lines say everything.
final class ProgressBar {
    private let enabled: Bool
    private let batchSize: Int
    private var drawn = false
    private var lastDraw = Date.distantPast

    init(enabled: Bool, batchSize: Int) {
        self.enabled = enabled
        self.batchSize = batchSize
    }

    func update(_ p: BatchProgress) {
        guard enabled else { return }
        // Redrawing more than ~10 times a second only costs time.
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 || p.batchesDone == p.batchesPerEpoch else { return }
        lastDraw = now
        Terminal.writeError("\r\u{1B}[2K" + Self.line(p, batchSize: batchSize, columns: Terminal.columns))
        drawn = true
    }

    /// Clears the bar so the epoch's summary line replaces it.
    func finishEpoch() {
        guard enabled, drawn else { return }
        Terminal.writeError("\r\u{1B}[2K")
        drawn = false
    }

    static func line(_ p: BatchProgress, batchSize: Int, columns: Int) -> String {
        let remainingSamples = Double(max(p.batchesPerEpoch - p.batchesDone, 0) * batchSize)
        let eta = p.samplesPerSecond > 0 ? remainingSamples / p.samplesPerSecond : .infinity
        let stats = " \(p.batchesDone)/\(p.batchesPerEpoch) loss \(Format.fixed(p.loss)) acc \(Format.percent(p.accuracy))"
            + " \(Format.rate(p.samplesPerSecond)) samples/s ETA \(Format.duration(eta))"
        let prefix = "epoch \(p.epoch)/\(p.epochs) "
        let barWidth = max(10, min(40, columns - prefix.count - stats.count - 3))
        let fraction = p.batchesPerEpoch > 0 ? Double(p.batchesDone) / Double(p.batchesPerEpoch) : 0
        let filled = min(barWidth, Int((fraction * Double(barWidth)).rounded(.down)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: barWidth - filled)
        return prefix + "[" + bar + "]" + stats
    }
}
