/// The median stopping rule: stop a trial at an epoch boundary when its dev accuracy is below the
/// median dev accuracy that completed trials had at the same epoch.
///
/// It needs a few completed trials to compare with (`minimumCompleted`), and spares the first
/// `warmupEpochs` epochs (counted from 1, as `nn train` counts them), where curves are noisy and
/// a slow starter may still overtake.
public struct MedianPruner: Sendable, Equatable, Codable {
    /// Completed trials needed at an epoch before any trial is pruned there.
    public var minimumCompleted: Int
    /// Epochs every trial runs before it can be pruned.
    public var warmupEpochs: Int

    /// Prunes a trial whose dev accuracy is below the median of completed trials at the same epoch.
    public init(minimumCompleted: Int = 3, warmupEpochs: Int = 1) {
        self.minimumCompleted = minimumCompleted
        self.warmupEpochs = warmupEpochs
    }

    /// A reason to prune after epoch `epoch` (counted from 1), or nil to let the trial go on.
    public func verdict(epoch: Int, devAccuracy: Double, completed: [Double]) -> String? {
        guard epoch > warmupEpochs, completed.count >= max(minimumCompleted, 1), let m = Self.median(completed) else { return nil }
        guard devAccuracy < m else { return nil }
        return "dev accuracy \(formatPercent(devAccuracy)) at epoch \(epoch) is below the median \(formatPercent(m)) of \(completed.count) completed trials"
    }

    /// The median of `values`, nil when there are none (also used to project pruned trials).
    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        let mid = s.count / 2
        return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
    }
}
