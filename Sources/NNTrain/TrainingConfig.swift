import NNCore

/// Early stopping on a dev-set metric: stop after `patience` epochs without an improvement larger
/// than `minDelta`, then restore the weights of the best epoch.
public struct EarlyStopping: Sendable, Codable, Equatable {
    /// The dev-set figure early stopping watches.
    public enum Metric: String, Sendable, Codable, CaseIterable {
        /// Mean dev cross-entropy; lower is better.
        case devLoss
        /// Dev accuracy; higher is better (ties go to the lower dev loss).
        case devAccuracy
    }

    /// The watched metric.
    public var metric: Metric
    /// Epochs without improvement before training stops (at least 1).
    public var patience: Int
    /// The smallest change that counts as an improvement (≥ 0).
    public var minDelta: Double

    /// Early stopping on `metric` with `patience` epochs; the defaults are dev loss and 3 epochs
    /// (`nn train` watches dev accuracy: ``TrainingRecipe/earlyStoppingMetric``).
    public init(metric: Metric = .devLoss, patience: Int = 3, minDelta: Double = 0) {
        self.metric = metric
        self.patience = patience
        self.minDelta = minDelta
    }

    /// Whether `value` beats `best` by more than `minDelta`. Dev accuracy ties often (it moves in
    /// steps of 1/dev-size), so with `minDelta` 0 a tie goes to the lower dev loss: the more
    /// confident of two equally accurate epochs.
    public func improves(_ value: Double, loss: Double?, over best: Double?, bestLoss: Double?) -> Bool {
        guard let best else { return true }
        switch metric {
        case .devLoss:
            return value < best - minDelta
        case .devAccuracy:
            if minDelta == 0, value == best, let loss, let bestLoss { return loss < bestLoss }
            return value > best + minDelta
        }
    }
}

/// Everything that defines a training run besides the network and the data.
public struct TrainingConfig: Sendable, Codable, Equatable {
    /// Epochs to train in total, counting those a resumed run has done.
    public var epochs: Int = 10
    /// Samples per mini-batch (the last batch of an epoch may be smaller).
    public var batchSize: Int = 128
    /// The update rule and its hyperparameters.
    public var optimizer: OptimizerKind = .adam
    /// α₀, the schedule's starting learning rate.
    public var learningRate: Float = 1e-3
    /// How the learning rate changes over the epochs (``TrainingConfig/recommended``: cosine).
    public var schedule: LearningRateSchedule = .constant
    /// L2 and L1 weight penalties.
    public var regularization: Regularization = .none
    /// Reshuffle the training set every epoch (from ``seed``); off keeps file order.
    public var shuffle: Bool = true
    /// Seeds the per-epoch shuffles.
    public var seed: UInt64 = 1
    /// Stop after this many optimisation steps in total (possibly mid-epoch).
    public var maxSteps: Int?
    /// Early stopping on a dev metric; nil trains every epoch.
    public var earlyStopping: EarlyStopping?
    /// The ``InputNormalizer`` fitted on the training set when the network has none. The library
    /// default is the course's per-feature form; `nn train` picks global for images.
    public var inputNormalization: InputNormalization = .perFeature
    /// Steps between reads of the on-device loss and accuracy (progress reports and the NaN check).
    /// 1 finds a non-finite loss at its exact step at the price of one device sync per step.
    public var metricsInterval: Int = 10
    /// Samples per batch when evaluating (dev, test, and the final training-set pass).
    public var evaluationBatchSize: Int = 1024
    /// Evaluate the whole training set in evaluation mode at the end for the bias/variance reading.
    public var evaluateTrainingSetAtEnd: Bool = true
    /// Achievable error (e.g. human level) for the bias/variance reading.
    public var bayesError: Double = 0
    /// Gap, as a fraction, above which bias or variance counts as high.
    public var diagnosisTolerance: Double = 0.02

    /// The library's long-standing defaults: Adam 1e-3 at a constant rate, batch 128, 10 epochs.
    /// Start from ``recommended`` to train as `nn train` does.
    public init() {}

    /// Checks every setting, so a bad one fails before training starts.
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` naming the first bad setting.
    public func validate() throws {
        let op = "training config"
        func require(_ ok: Bool, _ detail: @autoclosure () -> String) throws {
            if !ok { throw NNError.invalidArgument(op: op, detail: detail()) }
        }
        try require(epochs >= 0, "epochs \(epochs) must be ≥ 0")
        try require(batchSize >= 1, "batch size \(batchSize) must be at least 1")
        try require(learningRate >= 0 && learningRate.isFinite,
                    "learning rate \(learningRate) must be a finite number ≥ 0 (typical: 1e-3 for Adam, 0.1 for SGD)")
        try require(maxSteps.map { $0 >= 0 } ?? true, "max steps \(maxSteps ?? 0) must be ≥ 0")
        try require(metricsInterval >= 1, "metrics interval \(metricsInterval) must be at least 1 step")
        try require(evaluationBatchSize >= 1, "evaluation batch size \(evaluationBatchSize) must be at least 1")
        try require((0..<1).contains(bayesError), "Bayes error \(bayesError) must lie in [0, 1)")
        try require(diagnosisTolerance >= 0, "diagnosis tolerance \(diagnosisTolerance) must be ≥ 0")
        if let early = earlyStopping {
            try require(early.patience >= 1, "early-stopping patience \(early.patience) must be at least 1 epoch")
            try require(early.minDelta >= 0, "early-stopping min delta \(early.minDelta) must be ≥ 0")
        }
        try optimizer.validate()
        try schedule.validate()
        try regularization.validate()
    }
}
