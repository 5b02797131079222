import Foundation
import NNCore
import NNDistributed
import NNNative
import NNTrain
import XCTest

/// Data-parallel training on ranks that are threads (``ThreadGroup``), step by step against one
/// process: the per-step running loss and the final weights must agree up to the order of float
/// additions.
final class DataParallelTrainerTests: XCTestCase {
    struct Outcome {
        var runningLosses: [Double] = []
        var weights: [Float] = []
        var ranksFailed: [String] = []
    }

    /// Trains `ranks` replicas on threads (1: an ordinary trainer) and returns rank 0's record.
    func train(ranks: Int, syncBatchNorm: Bool, batch: Int, data: Dataset, spec: NetworkSpec) throws -> Outcome {
        let all = try run(ranks: ranks, syncBatchNorm: syncBatchNorm, batch: batch, data: data, spec: spec)
        XCTAssertEqual(all.flatMap(\.ranksFailed), [])
        for other in all.dropFirst() { XCTAssertEqual(other.weights, all[0].weights, "every rank holds the same weights") }
        return all[0]
    }

    /// Every rank's record.
    func run(ranks: Int, syncBatchNorm: Bool, batch: Int, data: Dataset, spec: NetworkSpec) throws -> [Outcome] {
        var config = TrainingConfig()
        config.optimizer = .sgd
        config.learningRate = 0.1
        config.batchSize = batch
        config.epochs = 2
        config.metricsInterval = 1
        config.evaluateTrainingSetAtEnd = false
        let settings = config
        let group = ThreadGroup(size: ranks)
        let outcomes = OutcomeTable(count: ranks)
        let threads = group.communicators().map { communicator in
            Thread {
                do {
                    let network = try Network(spec: spec, backend: NativeBackend(precision: .float32, threads: 1), seed: 4)
                    let parallel = DataParallel(communicator: ranks == 1 ? SingleProcessCommunicator() : communicator,
                                                syncBatchNorm: syncBatchNorm, bucketCapacity: 100)
                    let trainer = try Trainer(network: network, config: settings, parallel: parallel)
                    var losses: [Double] = []
                    trainer.onProgress = { losses.append($0.loss) }
                    try trainer.fit(train: data)
                    let weights = try network.namedTensors().flatMap(\.values)
                    outcomes.set(communicator.rank, Outcome(runningLosses: losses, weights: weights))
                } catch {
                    outcomes.set(communicator.rank, Outcome(ranksFailed: ["rank \(communicator.rank): \(error)"]))
                }
            }
        }
        for t in threads { t.start() }
        let deadline = Date().addingTimeInterval(120)
        while !outcomes.complete, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return try XCTUnwrap(outcomes.all, "ranks did not finish within 120 s")
    }

    /// Batch norm synchronised across 3 ranks with an uneven split (31 = 11 + 10 + 10), dropout whose
    /// shards start inside a Philox block (rows of width 13): every step's running loss matches one
    /// process within 1e-5 relative (float sums in another order; a wrong weight m_r/M or rank-dependent
    /// mask moves it by 1e-3 or more), and so do the final weights.
    func testSyncBatchNormRanksFollowOneProcessStepByStep() throws {
        let data = try TestSupport.synthetic(count: 217, width: 9, classes: 3, seed: 11)
        let spec = try NetworkSpec.mlp(inputWidth: 9, hidden: [13], classes: 3, activation: .relu, batchNorm: true, keepProbability: 0.8)
        let one = try train(ranks: 1, syncBatchNorm: false, batch: 31, data: data, spec: spec)
        let three = try train(ranks: 3, syncBatchNorm: true, batch: 31, data: data, spec: spec)
        XCTAssertEqual(one.runningLosses.count, 14)
        XCTAssertEqual(three.runningLosses.count, one.runningLosses.count)
        for (step, (a, b)) in zip(one.runningLosses, three.runningLosses).enumerated() {
            XCTAssertEqual(b, a, accuracy: 1e-5 * a, "step \(step + 1)")
        }
        XCTAssertEqual(three.weights.count, one.weights.count)
        let largest = zip(one.weights, three.weights).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(largest, 1e-4)
    }

    /// Without --sync-batchnorm each shard is normalised alone: the run differs from one process
    /// (the test above would catch a sync that silently did nothing), but still trains.
    func testLocalBatchNormDiffersFromOneProcess() throws {
        let data = try TestSupport.synthetic(count: 217, width: 9, classes: 3, seed: 11)
        let spec = try NetworkSpec.mlp(inputWidth: 9, hidden: [13], classes: 3, activation: .relu, batchNorm: true)
        let one = try train(ranks: 1, syncBatchNorm: false, batch: 32, data: data, spec: spec)
        let two = try train(ranks: 2, syncBatchNorm: false, batch: 32, data: data, spec: spec)
        let gap = zip(one.runningLosses, two.runningLosses).map { abs($0 - $1) / $0 }.max() ?? 0
        XCTAssertGreaterThan(gap, 1e-4)
        XCTAssertLessThan(two.runningLosses.last ?? .infinity, two.runningLosses.first ?? 0)
    }

    /// A batch that leaves a rank without two rows for its local batch norm is refused up front.
    func testTooSmallBatchForRanksIsAClearError() throws {
        let data = try TestSupport.synthetic(count: 50, width: 4, classes: 2, seed: 1)
        let spec = try NetworkSpec.mlp(inputWidth: 4, hidden: [5], classes: 2, activation: .relu, batchNorm: true)
        let all = try run(ranks: 2, syncBatchNorm: false, batch: 3, data: data, spec: spec)
        for (rank, outcome) in all.enumerated() {
            XCTAssertEqual(outcome.ranksFailed.count, 1)
            XCTAssertTrue(outcome.ranksFailed.first?.contains("local batch norm needs 2 per rank") == true, "rank \(rank): \(outcome.ranksFailed)")
            XCTAssertTrue(outcome.ranksFailed.first?.contains("use --batch 4 or more") == true, "rank \(rank): \(outcome.ranksFailed)")
        }
    }
}

/// Each rank's outcome, filled from its thread.
final class OutcomeTable: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [DataParallelTrainerTests.Outcome?]
    init(count: Int) { entries = Array(repeating: nil, count: count) }
    func set(_ rank: Int, _ outcome: DataParallelTrainerTests.Outcome) { lock.withLock { entries[rank] = outcome } }
    var complete: Bool { lock.withLock { entries.allSatisfy { $0 != nil } } }
    var all: [DataParallelTrainerTests.Outcome]? { lock.withLock { entries.allSatisfy { $0 != nil } ? entries.compactMap { $0 } : nil } }
}
