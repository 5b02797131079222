/// Decides at an epoch boundary whether a running trial should stop.
public protocol TrialPruner: Sendable {
    /// A reason to stop `trial` after `epoch` (counted from 1) with this dev accuracy, or nil to go on.
    func verdict(trial: Int, epoch: Int, devAccuracy: Double, store: StudyStore) throws -> String?
}

extension MedianPruner: TrialPruner {
    public func verdict(trial: Int, epoch: Int, devAccuracy: Double, store: StudyStore) throws -> String? {
        verdict(epoch: epoch, devAccuracy: devAccuracy, completed: try store.completedDevAccuracies(atEpoch: epoch))
    }
}

/// Asynchronous successive halving (ASHA; Li et al., 2020), as Optuna's SuccessiveHalvingPruner does
/// it: rungs at epochs r, r·η, r·η², …; a trial reaching a rung goes on only if its dev accuracy is
/// among the top 1/η of every trial that has reached that rung so far (running ones included, so
/// no trial waits for another). Many trials get a short look; only the promising get the full epochs.
/// Until η trials have reached a rung, a trial goes on only if it is the best there so far.
public struct AshaPruner: TrialPruner, Equatable, Codable {
    /// The first rung: the epoch at which trials are first compared.
    public var minimumEpochs: Int
    /// η: rungs lie at minimumEpochs·η^k, and the best 1/η of a rung go on.
    public var reduction: Int

    /// Asynchronous successive halving with the first rung at `minimumEpochs` and factor `reduction`.
    public init(minimumEpochs: Int = 1, reduction: Int = 3) {
        self.minimumEpochs = minimumEpochs
        self.reduction = reduction
    }

    /// Checks minimumEpochs ≥ 1 and reduction ≥ 2.
    public func validate() throws {
        guard minimumEpochs >= 1 else { throw TuneError.invalidOption(name: "--min-epochs", detail: "\(minimumEpochs) must be ≥ 1") }
        guard reduction >= 2 else { throw TuneError.invalidOption(name: "--reduction", detail: "\(reduction) must be ≥ 2") }
    }

    /// Whether `epoch` is a rung: r·η^k for some k ≥ 0.
    public func isRung(_ epoch: Int) -> Bool {
        guard epoch >= minimumEpochs, epoch % minimumEpochs == 0 else { return false }
        var rung = minimumEpochs
        while rung < epoch {
            let (next, overflow) = rung.multipliedReportingOverflow(by: reduction)
            if overflow { return false }
            rung = next
        }
        return rung == epoch
    }

    /// The rule on plain numbers: `others` are the dev accuracies of the other trials at this rung.
    public func promotes(_ devAccuracy: Double, others: [Double]) -> Bool {
        let competing = (others + [devAccuracy]).sorted(by: >)
        let index = max(competing.count / reduction - 1, 0)
        return devAccuracy >= competing[index]
    }

    public func verdict(trial: Int, epoch: Int, devAccuracy: Double, store: StudyStore) throws -> String? {
        guard isRung(epoch) else { return nil }
        let others = try store.devAccuracies(atEpoch: epoch, excludingTrial: trial)
        guard !promotes(devAccuracy, others: others) else { return nil }
        let kept = max((others.count + 1) / reduction, 1)
        return "dev accuracy \(formatPercent(devAccuracy)) at rung epoch \(epoch) is not among the top \(kept) of "
            + "\(others.count + 1) trials there (ASHA, η = \(reduction))"
    }
}
