import NNDistributed
import XCTest

final class BatchShardTests: XCTestCase {
    /// Shards of every rank cover the batch once, in order, sizes within one of each other, and their
    /// weights add up to 1 (so the weighted gradient sum is the global mean).
    func testShardsPartitionTheBatch() {
        for size in 1...5 {
            for count in size...23 {
                let shards = (0..<size).map { BatchShard(globalCount: count, rank: $0, size: size) }
                let rows = Array(100..<100 + count)
                XCTAssertEqual(shards.flatMap { Array($0.rows(of: rows)) }, rows)
                XCTAssertLessThanOrEqual(shards.map(\.count).max()! - shards.map(\.count).min()!, 1)
                XCTAssertEqual(shards.map { Double($0.weight) }.reduce(0, +), 1, accuracy: 1e-6)
            }
        }
    }

    func testFingerprintAgreesWithItselfAndNamesWhatDiffers() throws {
        var a = RunFingerprint()
        a.add("the training data", "x")
        a.add("the training settings", "lr 0.001")
        try a.check(on: SingleProcessCommunicator())
        var b = RunFingerprint()
        b.add("the training data", "x")
        b.add("the training settings", "lr 0.002")
        let fake = FixedGatherCommunicator(gathered: [a.items.map(\.hash), b.items.map(\.hash)])
        XCTAssertThrowsError(try a.check(on: fake)) { error in
            XCTAssertEqual("\(error)".contains("rank 1 disagrees with rank 0 on the training settings"), true, "\(error)")
            XCTAssertFalse("\(error)".contains("on the training data"))
        }
    }
}

/// A communicator whose allgather returns given values, as if other ranks had sent them.
final class FixedGatherCommunicator: Communicator, @unchecked Sendable {
    let gathered: [[UInt64]]
    init(gathered: [[UInt64]]) { self.gathered = gathered }
    var rank: Int { 0 }
    var size: Int { gathered.count }
    var localRank: Int { 0 }
    var transportDescription: String { "fixed gather" }
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> any PendingReduction { FinishedReduction() }
    func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) throws {}
    func broadcast(_ values: UnsafeMutableBufferPointer<Double>, root: Int) throws {}
    func allgather(_ values: [UInt64]) throws -> [[UInt64]] { gathered }
    func barrier() throws {}
}
