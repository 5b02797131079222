import NNCore

/// Metrics of one epoch (or of the final, partial one when ``TrainingConfig/maxSteps`` ends a run mid-epoch).
public struct EpochMetrics: Sendable, Codable, Equatable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Whether the epoch ran all its batches (false for a run stopped mid-epoch by `maxSteps`).
    public var isComplete: Bool
    /// The learning rate the schedule gave this epoch.
    public var learningRate: Float
    /// Mean cross-entropy over the epoch's batches, as seen in training mode.
    public var trainLoss: Double
    /// `trainLoss` plus the weight penalty at the end of the epoch: the cost being minimised.
    public var trainCost: Double
    /// Accuracy over the epoch's batches in training mode (dropout on, batch statistics).
    public var trainAccuracy: Double
    /// Mean dev-set cross-entropy after the epoch, in evaluation mode (nil without a dev set).
    public var devLoss: Double?
    /// Dev-set accuracy after the epoch, in evaluation mode (nil without a dev set).
    public var devAccuracy: Double?
    /// Training samples seen in the epoch.
    public var samples: Int
    /// Wall-clock seconds of the epoch's training steps.
    public var seconds: Double
    /// Training throughput over the epoch.
    public var samplesPerSecond: Double
    /// Optimisation steps taken since the start of the run, after this epoch.
    public var globalStep: Int
    /// Whether this epoch set a new best dev metric (with early stopping on).
    public var improved: Bool
}

/// Progress inside an epoch, for a progress bar.
public struct BatchProgress: Sendable, Equatable {
    /// 1-based number of the epoch in progress.
    public var epoch: Int
    /// The run's total epochs (``TrainingConfig/epochs``).
    public var epochs: Int
    /// Batches finished so far in this epoch.
    public var batchesDone: Int
    /// Batches in the whole epoch.
    public var batchesPerEpoch: Int
    /// Running mean of the loss over the epoch so far.
    public var loss: Double
    /// Running accuracy over the epoch so far.
    public var accuracy: Double
    /// Exponentially smoothed throughput.
    public var samplesPerSecond: Double
    /// Optimisation steps taken since the start of the run.
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
    /// The rule actually used when it is not ``optimizer`` (a rule of the program's own); nil otherwise,
    /// and in states written before rules were open.
    public var optimizerRuleName: String?
    /// The name of the rule whose moments the state holds.
    public var ruleName: String { optimizerRuleName ?? optimizer.name }
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

extension TrainingState {
    /// The largest count a saved state may hold: 2^53, the last integer a JSON reader keeps exact.
    /// A run would need centuries to get there; a larger value only comes from a damaged file, and
    /// would overflow the counters it seeds (Adam's step, the global step).
    public static let maximumCount = 1 << 53

    /// Throws unless every field is one a run could have saved: counters within 0…2^53 and
    /// consistent with each other, accumulators finite, the generator state usable.
    ///
    /// - Parameter source: names the file in the error.
    public func validate(source: String) throws {
        func corrupt(_ detail: String) -> NNError {
            .invalidData(source: source, detail: "the training state is corrupt: \(detail); resume from another checkpoint (--from-epoch)")
        }
        guard version == Self.formatVersion else {
            throw NNError.invalidData(
                source: source, detail: "training state format \(version) is not supported (this nn reads \(Self.formatVersion))")
        }
        let counters: [(String, Int)] = [
            ("epoch", epoch), ("step_in_epoch", stepInEpoch), ("global_step", globalStep), ("optimizer_step", optimizerStep),
            ("training_set_size", trainingSetSize), ("epoch_samples", epochSamples),
            ("epochs_without_improvement", epochsWithoutImprovement),
        ]
        for (name, value) in counters where !(0...Self.maximumCount).contains(value) {
            throw corrupt("\(name) is \(value), outside 0…2^53")
        }
        guard optimizerStep <= globalStep, stepInEpoch <= globalStep, epochsWithoutImprovement <= epoch else {
            throw corrupt("its counters disagree (global step \(globalStep), optimizer step \(optimizerStep), step in epoch \(stepInEpoch), epochs without improvement \(epochsWithoutImprovement) of \(epoch))")
        }
        if trainingSetSize > 0, epochSamples > trainingSetSize {
            throw corrupt("\(epochSamples) samples counted in an epoch of a \(trainingSetSize)-sample training set")
        }
        if let best = bestEpoch, !(1...max(epoch, 1)).contains(best) {
            throw corrupt("best epoch \(best) is not one of the \(epoch) epochs run")
        }
        if let metric = bestMetric, !metric.isFinite { throw corrupt("best metric is \(metric)") }
        if let counts = bestBatchNormCounts, counts.contains(where: { $0 < 0 }) { throw corrupt("a batch-norm counter is negative") }
        guard initialLearningRate.isFinite, initialLearningRate > 0 else {
            throw corrupt("learning rate \(initialLearningRate)")
        }
        guard epochLossSum.isFinite, epochLossSum >= 0, epochCorrect.isFinite, epochCorrect >= 0,
              Double(epochCorrect) <= Double(epochSamples) else {
            throw corrupt("the partial epoch's sums (loss \(epochLossSum), correct \(epochCorrect) of \(epochSamples)) are impossible")
        }
        guard history.count <= epoch + 1,
              history.allSatisfy({ (1...epoch + 1).contains($0.epoch) && (0...Self.maximumCount).contains($0.globalStep) }) else {
            throw corrupt("its history lists epochs the run has not reached")
        }
        do {
            _ = try SeededGenerator(state: shuffleState)
        } catch {
            throw corrupt("the shuffle generator state \(shuffleState) is unusable")
        }
    }
}
