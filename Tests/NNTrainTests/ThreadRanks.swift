import Foundation
import NNDistributed

/// N ranks as threads of one process, so data-parallel training can be tested step by step without
/// MPI: every collective is an exchange of each rank's words at a shared table.
final class ThreadGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var contributions: [[UInt64]?]
    private var arrived = 0
    private var generation = 0
    private var result: [[UInt64]] = []

    init(size: Int) {
        self.size = size
        contributions = Array(repeating: nil, count: size)
    }

    /// Blocks until every rank has contributed, then returns all contributions by rank.
    func exchange(rank: Int, _ values: [UInt64]) -> [[UInt64]] {
        condition.lock()
        defer { condition.unlock() }
        let mine = generation
        contributions[rank] = values
        arrived += 1
        if arrived == size {
            result = contributions.map { $0 ?? [] }
            contributions = Array(repeating: nil, count: size)
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            // A later generation cannot complete before this rank returns, so `result` is still ours.
            while generation == mine { condition.wait() }
        }
        return result
    }

    func communicators() -> [ThreadRank] { (0..<size).map { ThreadRank(group: self, rank: $0) } }
}

/// One rank of a ``ThreadGroup``; sums add ranks in order, as MPI's reduction on one host does.
final class ThreadRank: Communicator, @unchecked Sendable {
    let group: ThreadGroup
    let rank: Int
    init(group: ThreadGroup, rank: Int) {
        self.group = group
        self.rank = rank
    }

    var size: Int { group.size }
    var localRank: Int { rank }
    var transportDescription: String { "\(group.size) threads" }

    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        let all = group.exchange(rank: rank, values.map { UInt64($0.bitPattern) })
        for i in values.indices { values[i] = all.reduce(Float(0)) { $0 + Float(bitPattern: UInt32($1[i])) } }
    }

    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        let all = group.exchange(rank: rank, values.map(\.bitPattern))
        for i in values.indices { values[i] = all.reduce(0.0) { $0 + Double(bitPattern: $1[i]) } }
    }

    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> any PendingReduction {
        try allreduceSum(values)
        return FinishedReduction()
    }

    func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        let all = group.exchange(rank: rank, values.map { UInt64($0.bitPattern) })
        for i in values.indices { values[i] = Float(bitPattern: UInt32(all[root][i])) }
    }

    func broadcast(_ values: UnsafeMutableBufferPointer<Double>, root: Int) throws {
        let all = group.exchange(rank: rank, values.map(\.bitPattern))
        for i in values.indices { values[i] = Double(bitPattern: all[root][i]) }
    }

    func allgather(_ values: [UInt64]) throws -> [[UInt64]] { group.exchange(rank: rank, values) }
    func barrier() throws { _ = group.exchange(rank: rank, []) }
}
