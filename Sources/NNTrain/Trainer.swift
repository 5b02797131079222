import Foundation
import NNCore
import NNDistributed

/// The outcome of ``Trainer/fit(train:dev:test:)``: per-epoch metrics, the final weights'
/// evaluation on each set, and a bias/variance reading.
public struct TrainingReport: Sendable, Codable, Equatable {
    /// One entry per epoch run in this call (the last may be partial).
    public var epochs: [EpochMetrics]
    /// Final training-set loss and accuracy in evaluation mode (nil when not requested).
    public var train: Evaluation?
    /// Final dev-set loss and accuracy (nil without a dev set).
    public var dev: Evaluation?
    /// Final test-set loss and accuracy (nil without a test set). The test set is evaluated once, on
    /// the weights the network ends with, and never steers training.
    public var test: Evaluation?
    /// Bias and variance read from the train and dev errors (nil without both).
    public var diagnosis: Diagnosis?
    /// Whether early stopping ended the run before ``TrainingConfig/epochs``.
    public var stoppedEarly: Bool
    /// 1-based epoch whose weights the network holds after early stopping restored them.
    public var bestEpoch: Int?
    /// Optimisation steps taken in total, counting those of a resumed run's earlier calls.
    public var globalSteps: Int
    /// Training throughput over this call (excluding evaluation).
    public var samplesPerSecond: Double
    /// Wall-clock time of this call, evaluation included.
    public var wallSeconds: Double
}

/// Trains a ``Network`` on host data sets with mini-batch gradient descent.
///
/// Per step everything stays on the device: one upload of the batch, forward, loss, backward and
/// fused optimiser updates; loss and correct counts accumulate on the device and are read every
/// ``TrainingConfig/metricsInterval`` steps. Buffers are allocated once per batch size.
///
/// The whole run state is explicit: ``state`` (Codable scalars) plus ``stateTensors()`` (optimiser
/// moments and early stopping's best weights) and the network's own tensors. Saving all three after
/// an epoch and passing them to ``restore(state:tensors:)`` on a fresh trainer continues the run bit
/// for bit.
public final class Trainer {
    /// The network being trained.
    public let network: Network
    /// The run's settings.
    public let config: TrainingConfig
    /// The optimiser, with its state tensors on the device.
    public let optimizer: Optimizer
    /// The ranks this trainer shares each global batch with (one for an ordinary run).
    public let parallel: DataParallel
    /// The run's scalar state: epoch, steps, RNG, early-stopping bookkeeping; saved in checkpoints.
    public private(set) var state: TrainingState
    /// Called after each epoch (and a final partial one) with its metrics; ``state`` already
    /// includes the epoch, so this is the place to write a checkpoint. Throwing stops training.
    public var onEpoch: ((EpochMetrics) throws -> Void)?
    /// Called every ``TrainingConfig/metricsInterval`` steps and at the end of each epoch.
    public var onProgress: ((BatchProgress) -> Void)?

    private var backend: any Backend { network.backend }
    private let lossSum: Tensor
    private let correctCount: Tensor
    private let penaltyValue: Tensor
    private var loader: BatchLoader
    private var bestSnapshot: [Tensor]?
    private let reducer: GradientReducer?
    private var ranksSynchronized = false
    /// Time in the last step's allreduces that backward did not hide (distributed runs).
    public var lastAllreduceWaitSeconds: Double { reducer?.lastWaitSeconds ?? 0 }

    /// A trainer for `network` under `config`; `parallel` spreads each batch over ranks.
    ///
    /// - Throws: `NNError.invalidArgument(op:detail:)` for an invalid config (e.g. a negative
    ///   learning rate).
    ///
    /// - Parameters:
    ///   - network: the network to train, on its backend.
    ///   - config: the run's settings.
    ///   - parallel: the ranks sharing each global batch (one process by default).
    ///   - rule: an optimiser rule of your own; nil uses ``TrainingConfig/optimizer``.
    public init(network: Network, config: TrainingConfig, parallel: DataParallel = .singleProcess,
                rule: (any OptimizerRule)? = nil) throws {
        try config.validate()
        guard parallel.bucketCapacity >= 0 else {
            throw NNError.invalidArgument(op: "data parallel", detail: "bucket capacity \(parallel.bucketCapacity) must be ≥ 0 (0: one bucket)")
        }
        self.network = network
        self.config = config
        self.parallel = parallel
        reducer = parallel.isDistributed
            ? GradientReducer(layers: network.layers.reversed().map(\.parameters).filter { !$0.isEmpty },
                              capacity: parallel.bucketCapacity, communicator: parallel.communicator, backend: network.backend)
            : nil
        optimizer = try Optimizer(rule: rule ?? config.optimizer, parameters: network.parameters, backend: network.backend)
        state = TrainingState(optimizer: config.optimizer, optimizerRuleName: rule?.name, schedule: config.schedule,
                              initialLearningRate: config.learningRate,
                              shuffleState: SeededGenerator(seed: config.seed).state,
                              dropoutSeed: network.dropoutSeed, dropoutOffset: network.dropoutOffset)
        lossSum = try network.backend.makeTensor(.scalar)
        correctCount = try network.backend.makeTensor(.scalar)
        penaltyValue = try network.backend.makeTensor(.scalar)
        loader = BatchLoader(backend: network.backend)
    }

    /// The learning rate the schedule gives for the current epoch.
    public var currentLearningRate: Float {
        config.schedule.learningRate(initial: config.learningRate, epoch: state.epoch, epochs: config.epochs)
    }

    // MARK: One step

    /// One optimisation step on a batch already on the device (normalised inputs rows × width,
    /// labels rows × 1): forward, loss, backward, update. Nothing is read back; the loss and the
    /// number of correct predictions accumulate on the device.
    public func step(inputs: Tensor, labels: Tensor) throws {
        try step(inputs: inputs, labels: labels, shard: BatchShard(globalCount: inputs.rows, rank: 0, size: 1))
    }

    /// One step on this rank's `shard` of a global batch: local forward and loss, backward with the
    /// gradients averaged across ranks, then the same update on every rank.
    public func step(inputs: Tensor, labels: Tensor, shard: BatchShard) throws {
        network.mode = .training
        let statistics = parallel.isDistributed && parallel.syncBatchNorm ? parallel.communicator : nil
        let logits = try network.forward(inputs, shard: shard, batchStatistics: statistics)
        try network.addLoss(logits: logits, labels: labels, toLossSum: lossSum, correct: correctCount)
        if let reducer {
            reducer.begin(shard: shard)
            try network.backward(onLayerDone: reducer.layerDone)
            try reducer.finish()
        } else {
            try network.backward()
        }
        let m = state.trainingSetSize > 0 ? state.trainingSetSize : inputs.rows
        try optimizer.apply(learningRate: currentLearningRate, penalty: config.regularization.weightPenalty(sampleCount: m))
        state.globalStep += 1
        state.optimizerStep = optimizer.step
        state.epochSamples += shard.globalCount
        state.dropoutOffset = network.dropoutOffset
    }

    // MARK: Fit

    /// Trains for ``TrainingConfig/epochs`` epochs in total (counting epochs already in ``state``),
    /// evaluating `dev` after each, then reports final train/dev errors with a bias/variance reading,
    /// and the final weights' test loss and accuracy when `test` is given (checked against the
    /// network before the first step, so a test set that does not fit fails fast).
    /// Leaves the network in evaluation mode. A run ended by ``TrainingConfig/maxSteps`` keeps its
    /// latest weights (so it can be resumed); a finished run with early stopping ends on the best
    /// dev epoch's weights.
    ///
    /// - Throws: `NNError.nonFinite(detail:)` when the loss becomes NaN or infinite (no epoch
    ///   callback runs for the failed epoch, so checkpoints already written stay good);
    ///   `NNError.invalidData(source:detail:)` or `NNError.shapeMismatch(op:detail:)` when the
    ///   data does not fit the network.
    @discardableResult
    public func fit(train: Dataset, dev: Dataset? = nil, test: Dataset? = nil) throws -> TrainingReport {
        try prepare(train: train, dev: dev)
        if let test {
            try BatchLoader.check(test, fits: network)
            guard !test.isEmpty else {
                throw NNError.invalidData(source: test.name, detail: "the test set is empty; pass nil for no test evaluation")
            }
        }
        let clock = ContinuousClock()
        let started = clock.now
        var trainingTime: Duration = .zero
        var trainedSamples = 0
        var epochs: [EpochMetrics] = []

        while state.epoch < config.epochs, !state.stoppedEarly, !reachedMaxSteps {
            let epochStart = clock.now
            let (metrics, samples) = try runEpoch(train: train, dev: dev, clock: clock)
            trainingTime += clock.now - epochStart
            trainedSamples += samples
            epochs.append(metrics)
            try onEpoch?(metrics)
            if !metrics.isComplete { break }
        }

        // A run paused by maxSteps keeps its latest weights so it can be resumed; a finished run
        // (all epochs, or stopped early) ends on the best dev epoch's weights.
        let finished = state.stoppedEarly || state.epoch >= config.epochs
        if finished, let counts = state.bestBatchNormCounts, let snapshot = bestSnapshot, config.earlyStopping != nil {
            for (best, live) in zip(snapshot, network.stateTensors) { try backend.copy(best, to: live) }
            network.counterValues = counts
        }
        network.mode = .evaluation
        let trainEval = config.evaluateTrainingSetAtEnd ? try network.evaluate(train, batchSize: config.evaluationBatchSize) : nil
        let devEval = try dev.map { try network.evaluate($0, batchSize: config.evaluationBatchSize) }
        let testEval = try test.map { try network.evaluate($0, batchSize: config.evaluationBatchSize) }
        var diagnosis: Diagnosis?
        if let t = trainEval, let d = devEval {
            diagnosis = Diagnosis(trainError: t.error, devError: d.error, bayesError: config.bayesError,
                                  tolerance: config.diagnosisTolerance)
        }
        let seconds = Self.seconds(trainingTime)
        return TrainingReport(
            epochs: epochs, train: trainEval, dev: devEval, test: testEval, diagnosis: diagnosis,
            stoppedEarly: state.stoppedEarly, bestEpoch: config.earlyStopping == nil ? nil : state.bestEpoch,
            globalSteps: state.globalStep,
            samplesPerSecond: seconds > 0 ? Double(trainedSamples) / seconds : 0,
            wallSeconds: Self.seconds(clock.now - started))
    }

    private var reachedMaxSteps: Bool {
        config.maxSteps.map { state.globalStep >= $0 } ?? false
    }

    /// Checks the data against the network and config, fits the input normaliser, and in a
    /// distributed run checks that every rank agrees and copies rank 0's weights to all. ``fit(train:dev:test:)``
    /// does this itself; call it first to find a mismatch between ranks before writing anything.
    public func prepareToFit(train: Dataset, dev: Dataset?) throws {
        try prepare(train: train, dev: dev)
    }

    private func prepare(train: Dataset, dev: Dataset?) throws {
        guard !train.isEmpty else {
            throw NNError.invalidData(source: train.name, detail: "the training set is empty")
        }
        if network.normalizer == nil {
            network.normalizer = try InputNormalizer.fit(train, config.inputNormalization)
        }
        if network.classNames == nil { network.classNames = train.classNames }
        try BatchLoader.check(train, fits: network)
        if let dev {
            try BatchLoader.check(dev, fits: network)
            guard !dev.isEmpty else {
                throw NNError.invalidData(source: dev.name, detail: "the dev set is empty; pass nil for no dev evaluation")
            }
        } else if config.earlyStopping != nil {
            throw NNError.invalidArgument(op: "early stopping", detail: "needs a dev set to watch; pass dev: or turn early stopping off")
        }
        if network.spec.hasBatchNorm, min(config.batchSize, train.count) < 2 {
            throw NNError.invalidArgument(
                op: "training config",
                detail: "batch size \(min(config.batchSize, train.count)) with batch norm: batch statistics need at least 2 samples per batch (as in PyTorch); use a larger batch or no batch norm")
        }
        if parallel.isDistributed {
            let minimum = minimumBatchRows
            guard min(config.batchSize, train.count) >= minimum else {
                throw NNError.invalidArgument(
                    op: "data-parallel training",
                    detail: "a batch of \(min(config.batchSize, train.count)) split over \(parallel.communicator.size) ranks leaves some with fewer than \(minimum / parallel.communicator.size) rows"
                        + (network.spec.hasBatchNorm && !parallel.syncBatchNorm ? " (local batch norm needs 2 per rank; --sync-batchnorm needs 2 in all)" : "")
                        + "; use --batch \(minimum) or more, or fewer ranks")
            }
        }
        if state.trainingSetSize == 0 {
            state.trainingSetSize = train.count
        } else if state.trainingSetSize != train.count {
            throw NNError.invalidData(
                source: train.name,
                detail: "the run being resumed trained on \(state.trainingSetSize) samples but this training set has \(train.count); resume with the same data")
        }
        network.dropoutSeed = state.dropoutSeed
        network.dropoutOffset = state.dropoutOffset
        if parallel.isDistributed, !ranksSynchronized {
            try synchronizeRanks(train: train, dev: dev)
            ranksSynchronized = true
        }
    }

    /// The fewest rows a global batch may have: one per rank, and with batch norm two per
    /// normalised group (the whole batch with synchronised statistics, else each rank's shard).
    private var minimumBatchRows: Int {
        let ranks = parallel.communicator.size
        guard network.spec.hasBatchNorm else { return ranks }
        return parallel.syncBatchNorm || ranks == 1 ? max(2, ranks) : 2 * ranks
    }

    /// Batches of the epoch in order. A trailing batch too small to train on is left out of this
    /// epoch (with batch norm, one sample has batch variance 0; across ranks, every shard needs a
    /// row, or two with local batch norm); the reshuffle gives its samples a batch in the next.
    private func batches(order: [Int]) -> [ArraySlice<Int>] {
        var result = stride(from: 0, to: order.count, by: config.batchSize).map {
            order[$0..<min($0 + config.batchSize, order.count)]
        }
        if result.count > 1, let last = result.last, last.count < minimumBatchRows { result.removeLast() }
        return result
    }

    /// Checks that every rank runs the same data, settings, model and run state, then copies rank 0's
    /// weights, running statistics and optimiser moments to every rank, so all start identical.
    private func synchronizeRanks(train: Dataset, dev: Dataset?) throws {
        let communicator = parallel.communicator
        var fingerprint = RunFingerprint()
        fingerprint.add("the training data", Self.hash(train))
        fingerprint.add("the dev data", dev.map(Self.hash) ?? 0)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        fingerprint.add("the training settings", String(decoding: try encoder.encode(config), as: UTF8.self)
            + " sync-batchnorm \(parallel.syncBatchNorm) buckets \(parallel.bucketCapacity)")
        fingerprint.add("the model architecture", network.describeArchitecture() + " \(network.spec)")
        fingerprint.add("the input normaliser", network.normalizer.map { "\($0)" } ?? "none")
        fingerprint.add("the run state (epoch, step)", "\(state.epoch) \(state.stepInEpoch) \(state.globalStep) \(state.optimizerStep)")
        try fingerprint.check(on: communicator)
        var tensors = network.stateTensors
        for moments in optimizer.state { tensors += moments }
        for tensor in tensors {
            var values = try backend.download(tensor)
            try communicator.broadcast(&values, root: 0)
            try backend.upload(values, to: tensor)
        }
    }

    private static func hash(_ data: Dataset) -> UInt64 {
        var h = Hasher64()
        h.add(UInt64(data.count))
        h.add(UInt64(data.width))
        h.add(UInt64(data.classes))
        data.features.withUnsafeBufferPointer { h.add($0) }
        for label in data.labels { h.add(UInt64(UInt32(bitPattern: label))) }
        return h.value
    }

    private func runEpoch(train: Dataset, dev: Dataset?, clock: ContinuousClock) throws -> (EpochMetrics, Int) {
        var generator = try SeededGenerator(state: state.shuffleState)
        let order = config.shuffle ? generator.permutation(train.count) : Array(0..<train.count)
        let batches = batches(order: order)
        guard state.stepInEpoch <= batches.count else {
            throw NNError.invalidData(
                source: "training state",
                detail: "the run being resumed stopped after batch \(state.stepInEpoch) of its epoch, but this epoch has \(batches.count) batches; resume with the same data and --batch")
        }
        let learningRate = currentLearningRate
        let epochNumber = state.epoch + 1
        if state.stepInEpoch == 0 {
            state.epochLossSum = 0
            state.epochCorrect = 0
            state.epochSamples = 0
        }
        // Each rank accumulates its own shards; rank 0 carries the sums a resumed epoch had reached.
        let carried = parallel.communicator.isRoot
        try backend.upload([carried ? state.epochLossSum : 0], to: lossSum)
        try backend.upload([carried ? state.epochCorrect : 0], to: correctCount)
        let samplesBefore = state.epochSamples
        var throughput = try ExponentialAverage(beta: 0.8)
        let epochStart = clock.now
        var lastRead = (time: clock.now, samples: state.epochSamples, step: state.globalStep)

        while state.stepInEpoch < batches.count, !reachedMaxSteps {
            let rows = batches[state.stepInEpoch]
            let shard = BatchShard(globalCount: rows.count, rank: parallel.communicator.rank, size: parallel.communicator.size)
            let batch = try loader.load(train, rows: shard.rows(of: rows), normalizer: network.normalizer)
            try step(inputs: batch.inputs, labels: batch.labels, shard: shard)
            state.stepInEpoch += 1
            let atEnd = state.stepInEpoch == batches.count
            if atEnd || state.stepInEpoch % config.metricsInterval == 0 || reachedMaxSteps {
                try readAccumulators(epoch: epochNumber, since: lastRead.step, learningRate: learningRate)
                let now = clock.now
                let elapsed = Self.seconds(now - lastRead.time)
                if elapsed > 0 { throughput.add(Double(state.epochSamples - lastRead.samples) / elapsed) }
                lastRead = (now, state.epochSamples, state.globalStep)
                onProgress?(BatchProgress(
                    epoch: epochNumber, epochs: config.epochs, batchesDone: state.stepInEpoch, batchesPerEpoch: batches.count,
                    loss: Double(state.epochLossSum) / Double(max(state.epochSamples, 1)),
                    accuracy: Double(state.epochCorrect) / Double(max(state.epochSamples, 1)),
                    samplesPerSecond: throughput.value ?? 0, globalStep: state.globalStep))
            }
        }
        let seconds = Self.seconds(clock.now - epochStart)
        let isComplete = state.stepInEpoch == batches.count
        let samples = state.epochSamples
        try network.penalty(config.regularization, sampleCount: state.trainingSetSize, into: penaltyValue)
        let penalty = Double(try backend.scalar(penaltyValue))
        let trainLoss = Double(state.epochLossSum) / Double(max(samples, 1))
        try shareRunningStatistics()
        let devEval = try dev.map { try agreed(network.evaluate($0, batchSize: config.evaluationBatchSize)) }
        var metrics = EpochMetrics(
            epoch: epochNumber, isComplete: isComplete, learningRate: learningRate,
            trainLoss: trainLoss, trainCost: trainLoss + penalty,
            trainAccuracy: Double(state.epochCorrect) / Double(max(samples, 1)),
            devLoss: devEval?.loss, devAccuracy: devEval?.accuracy, samples: samples, seconds: seconds,
            samplesPerSecond: seconds > 0 ? Double(samples - samplesBefore) / seconds : 0,
            globalStep: state.globalStep, improved: false)
        if isComplete {
            state.shuffleState = generator.state
            state.epoch += 1
            state.stepInEpoch = 0
            if let early = config.earlyStopping, let devEval {
                metrics.improved = try trackBest(early, devEval, epoch: epochNumber)
            }
            state.history.append(metrics)
            state.epochLossSum = 0
            state.epochCorrect = 0
            state.epochSamples = 0
        }
        return (metrics, samples - samplesBefore)
    }

    private func readAccumulators(epoch: Int, since firstStep: Int, learningRate: Float) throws {
        if parallel.isDistributed {
            var sums = [Double(try backend.scalar(lossSum)), Double(try backend.scalar(correctCount))]
            try parallel.communicator.allreduceSum(&sums)
            state.epochLossSum = Float(sums[0])
            state.epochCorrect = Float(sums[1])
        } else {
            state.epochLossSum = try backend.scalar(lossSum)
            state.epochCorrect = try backend.scalar(correctCount)
        }
        guard state.epochLossSum.isFinite else {
            let window = state.globalStep - firstStep <= 1
                ? "at step \(state.globalStep)"
                : "between steps \(firstStep + 1) and \(state.globalStep)"
            throw NNError.nonFinite(
                detail: "training loss became \(state.epochLossSum) in epoch \(epoch) \(window) (learning rate \(learningRate)); "
                    + "lower the learning rate (e.g. \(learningRate / 10)) or check the inputs; checkpoints already written are unaffected")
        }
    }

    /// With batch norm per rank, each rank's running statistics follow its own shards; as DDP's
    /// `broadcast_buffers` does, every rank takes rank 0's. They are read only in evaluation mode, so
    /// this happens once per epoch, before the dev evaluation and the checkpoint, not every step.
    private func shareRunningStatistics() throws {
        guard parallel.isDistributed, !parallel.syncBatchNorm else { return }
        for tensor in network.runningStatistics {
            var values = try backend.download(tensor)
            try parallel.communicator.broadcast(&values, root: 0)
            try backend.upload(values, to: tensor)
        }
    }

    /// Rank 0's dev evaluation on every rank: early stopping then decides alike even where ranks run
    /// on backends whose last bits differ.
    private func agreed(_ evaluation: Evaluation) throws -> Evaluation {
        guard parallel.isDistributed else { return evaluation }
        var values = [evaluation.loss, evaluation.accuracy]
        try parallel.communicator.broadcast(&values, root: 0)
        var result = evaluation
        result.loss = values[0]
        result.accuracy = values[1]
        return result
    }

    private func trackBest(_ early: EarlyStopping, _ dev: Evaluation, epoch: Int) throws -> Bool {
        let value = early.metric == .devLoss ? dev.loss : dev.accuracy
        let bestLoss = state.history.last { $0.epoch == state.bestEpoch }?.devLoss
        guard early.improves(value, loss: dev.loss, over: state.bestMetric, bestLoss: bestLoss) else {
            state.epochsWithoutImprovement += 1
            if state.epochsWithoutImprovement >= early.patience { state.stoppedEarly = true }
            return false
        }
        state.bestMetric = value
        state.bestEpoch = epoch
        state.epochsWithoutImprovement = 0
        let live = network.stateTensors
        if bestSnapshot == nil { bestSnapshot = try live.map { try backend.makeTensor($0.shape) } }
        for (source, copy) in zip(live, bestSnapshot ?? []) { try backend.copy(source, to: copy) }
        state.bestBatchNormCounts = network.counterValues
        return true
    }

    // MARK: Checkpoint support

    /// Tensors of the run state beyond the network's own: optimiser moments
    /// ("optimizer.0.weight.m", …) and, with early stopping, the best weights ("best.0.weight", …).
    public func stateTensors() throws -> [NamedTensor] {
        var tensors = try optimizer.namedState()
        if let snapshot = bestSnapshot {
            for (entry, tensor) in zip(snapshotNames, snapshot) {
                tensors.append(.float32("best.\(entry.name)", shape: entry.shape, values: try backend.download(tensor)))
            }
        }
        return tensors
    }

    private var snapshotNames: [(name: String, shape: [Int])] {
        network.expectedTensorShapes().filter { !$0.shape.isEmpty }
    }

    /// Resumes from a saved ``state`` and ``stateTensors()``; load the network's own tensors with
    /// ``Network/load(namedTensors:source:)`` as well. Then ``fit(train:dev:test:)`` continues the run.
    ///
    /// This trainer's config may differ from the saved run's in everything but the optimiser rule
    /// (learning rate, schedule parameters, β, ε, penalties, epochs, early stopping): the state then
    /// records the new values, and a run that had stopped early continues if the new patience allows.
    /// With the same config the continued run equals an uninterrupted one bit for bit. Change the
    /// batch size only at an epoch boundary (`state.stepInEpoch == 0`): the step index inside an
    /// epoch counts batches of the old size.
    ///
    /// - Throws: `NNError.invalidData(source:detail:)` when the state belongs to another optimiser
    ///   or architecture, or tensors are missing or misshapen.
    public func restore(state saved: TrainingState, tensors: [NamedTensor]) throws {
        try saved.validate(source: "training state")
        // The moments' meaning depends on the rule, not on its β or ε, so those may change on resume.
        guard saved.ruleName == optimizer.rule.name else {
            throw NNError.invalidData(
                source: "training state",
                detail: "saved with optimizer \(saved.ruleName) but this run uses \(optimizer.rule.name); its moment tensors do not carry over, resume with --optimizer \(saved.ruleName)")
        }
        var table = NamedTensorTable(tensors, source: "training state")
        try optimizer.load(&table)
        if let counts = saved.bestBatchNormCounts {
            let live = network.stateTensors
            let snapshot = try live.map { try backend.makeTensor($0.shape) }
            for (entry, tensor) in zip(snapshotNames, snapshot) {
                if let values = table.floats("best.\(entry.name)", shape: entry.shape) { try backend.upload(values, to: tensor) }
            }
            bestSnapshot = snapshot
            guard counts.count == network.counterValues.count else {
                throw NNError.invalidData(source: "training state", detail: "best snapshot has \(counts.count) batch-norm counters, the network \(network.counterValues.count)")
            }
        } else {
            bestSnapshot = nil
        }
        try table.finish(expectedFrom: "this trainer (optimizer \(optimizer.rule.name))")
        optimizer.step = saved.optimizerStep
        state = saved
        // Hyperparameters that may change between runs come from this trainer's config: the state
        // records what the continued run actually uses.
        state.optimizer = config.optimizer
        state.optimizerRuleName = optimizer.rule.name == config.optimizer.name ? nil : optimizer.rule.name
        state.schedule = config.schedule
        state.initialLearningRate = config.learningRate
        if state.stoppedEarly {
            // A run resumed with more patience (or early stopping off) continues training.
            state.stoppedEarly = config.earlyStopping.map { state.epochsWithoutImprovement >= $0.patience } ?? false
        }
        network.dropoutSeed = saved.dropoutSeed
        network.dropoutOffset = saved.dropoutOffset
    }

    static func seconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
