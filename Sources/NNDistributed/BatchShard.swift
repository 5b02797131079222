/// One rank's part of a global batch: a contiguous run of its rows.
///
/// Rows are split as evenly as possible, the first `count % size` ranks taking one more, so shard
/// sizes differ by at most one and their concatenation in rank order is the global batch.
public struct BatchShard: Sendable, Equatable {
    /// Position of the shard's first row in the global batch.
    public let offset: Int
    /// Rows in this shard.
    public let count: Int
    /// Rows of the global batch, for dividing local sums into global means.
    public let globalCount: Int

    /// Rank `rank`'s shard of a global batch of `globalCount` rows split over `size` ranks.
    public init(globalCount: Int, rank: Int, size: Int) {
        let base = globalCount / size, extra = globalCount % size
        self.offset = rank * base + min(rank, extra)
        self.count = base + (rank < extra ? 1 : 0)
        self.globalCount = globalCount
    }

    /// The shard's rows of a global batch.
    public func rows<C: RandomAccessCollection>(of batch: C) -> C.SubSequence where C.Index == Int {
        let start = batch.startIndex + offset
        return batch[start..<start + count]
    }

    /// The weight m_r / M that turns this rank's mean gradient into its share of the global mean.
    public var weight: Float { Float(count) / Float(globalCount) }

    /// The smallest shard any rank gets of a batch of `globalCount` rows.
    public static func smallest(globalCount: Int, size: Int) -> Int { globalCount / size }
}
