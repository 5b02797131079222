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
///
/// With a model-based sampler, set ``referenceTrials`` (``comparingWithStartup(of:)``): the rung's
/// top 1/η is then taken among the sampler's random start-up trials, not among every trial. ASHA's
/// rule assumes the trials at a rung are a random sample of the space; once a model draws them,
/// most lie in the good region, where a short look often cannot rank them (on the Fashion-MNIST
/// search benchmark, the rank correlation of 1-epoch and final dev accuracy among trials that end
/// above 85.5 % is −0.07, over 925 trials), so the plain rule would stop good trials at random.
/// Against the start-up sample a trial goes on when it is in the top 1/η of the space so far, which
/// is what the rule means for a random sampler.
public struct AshaPruner: TrialPruner, Equatable, Codable {
    /// The first rung: the epoch at which trials are first compared.
    public var minimumEpochs: Int
    /// η: rungs lie at minimumEpochs·η^k, and the best 1/η of a rung go on.
    public var reduction: Int
    /// When set, a rung compares a trial with the study's first `referenceTrials` trials there (a
    /// model-based sampler's random start-up) instead of with every trial there.
    public var referenceTrials: Int?

    /// Asynchronous successive halving with the first rung at `minimumEpochs` and factor `reduction`,
    /// comparing with the first `referenceTrials` trials of the study, or with every trial when nil.
    public init(minimumEpochs: Int = 1, reduction: Int = 3, referenceTrials: Int? = nil) {
        self.minimumEpochs = minimumEpochs
        self.reduction = reduction
        self.referenceTrials = referenceTrials
    }

    /// This rule comparing with `sampler`'s random start-up trials when it is model-based, and with
    /// every trial (plain ASHA) when it draws at random anyway.
    public func comparingWithStartup(of sampler: SamplerKind) -> AshaPruner {
        var rule = self
        rule.referenceTrials = sampler.isModelBased ? SamplerKind.startupTrials : nil
        return rule
    }

    /// Checks minimumEpochs ≥ 1, reduction ≥ 2 and referenceTrials ≥ 1.
    public func validate() throws {
        guard minimumEpochs >= 1 else { throw TuneError.invalidOption(name: "--min-epochs", detail: "\(minimumEpochs) must be ≥ 1") }
        guard reduction >= 2 else { throw TuneError.invalidOption(name: "--reduction", detail: "\(reduction) must be ≥ 2") }
        if let referenceTrials, referenceTrials < 1 {
            throw TuneError.invalidOption(name: "--asha-reference", detail: "\(referenceTrials) reference trials must be ≥ 1")
        }
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
        let others = try store.devAccuracies(atEpoch: epoch, excludingTrial: trial, amongFirst: referenceTrials)
        guard !promotes(devAccuracy, others: others) else { return nil }
        let kept = max((others.count + 1) / reduction, 1)
        let among = referenceTrials == nil ? "\(others.count + 1) trials there"
            : "this trial and the \(others.count) start-up trials there"
        return "dev accuracy \(formatPercent(devAccuracy)) at rung epoch \(epoch) is not among the top \(kept) of \(among) (ASHA, η = \(reduction))"
    }
}
