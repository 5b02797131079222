import NNCore

/// Metrics of one epoch (or of the final, partial one when ``TrainingConfig/maxSteps`` ends a run mid-epoch).
public struct EpochMetrics: Sendable, Codable, Equatable {
    /// 1-based epoch number.
    public var epoch: Int
    public var isComplete: Bool
    public var learningRate: Float
    /// Mean cross-entropy over the epoch's batches, as seen in training mode.
    public var trainLoss: Double
    /// `trainLoss` plus the weight penalty at the end of the epoch: the cost being minimised.
    public var trainCost: Double
    /// Accuracy over the epoch's batches in training mode (dropout on, batch statistics).
    public var trainAccuracy: Double
    public var devLoss: Double?
    public var devAccuracy: Double?
    public var samples: Int
    public var seconds: Double
    public var samplesPerSecond: Double
    /// Optimisation steps taken since the start of the run, after this epoch.
    public var globalStep: Int
    /// Whether this epoch set a new best dev metric (with early stopping on).
    public var improved: Bool
}

/// Progress inside an epoch, for a progress bar.
public struct BatchProgress: Sendable, Equatable {
    public var epoch: Int
    public var epochs: Int
    public var batchesDone: Int
    public var batchesPerEpoch: Int
    /// Running mean of the loss over the epoch so far.
    public var loss: Double
    /// Running accuracy over the epoch so far.
    public var accuracy: Double
    /// Exponentially smoothed throughput.
    public var samplesPerSecond: Double
    public var globalStep: Int
}

/// The scalar part of a training run's state: with the network's tensors and
/// ``Trainer/stateTensors()`` it resumes a run that then continues bit for bit as if never stopped.
public struct TrainingState: Sendable, Codable, Equatable {
    public static let formatVersion = 1
    public var version = TrainingState.formatVersion
    /// Completed epochs.
    public var epoch: Int = 0
    /// Batches already done in the current epoch (non-zero only after a mid-epoch stop).
    public var stepInEpoch: Int = 0
    public var globalStep: Int = 0
    /// Updates applied by the optimiser (Adam's t).
    public var optimizerStep: Int = 0
    public var optimizer: OptimizerKind
    public var schedule: LearningRateSchedule
    public var initialLearningRate: Float
    /// Shuffle generator state at the start of the current epoch (its permutation is redrawn on resume).
    public var shuffleState: [UInt64]
    public var dropoutSeed: UInt64
    public var dropoutOffset: UInt64
    public var trainingSetSize: Int = 0
    /// Early stopping: best metric value, its epoch (1-based), epochs since, and the best snapshot's
    /// batch-norm counters (its tensors are the "best.*" state tensors).
    public var bestMetric: Double?
    public var bestEpoch: Int?
    public var epochsWithoutImprovement: Int = 0
    public var bestBatchNormCounts: [Int64]?
    public var stoppedEarly: Bool = false
    /// The partial epoch's on-device accumulators, exactly as Float32.
    public var epochLossSum: Float = 0
    public var epochCorrect: Float = 0
    public var epochSamples: Int = 0
    /// Metrics of every completed epoch.
    public var history: [EpochMetrics] = []
}
