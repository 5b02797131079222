import NNDistributed

/// How a ``Trainer`` shares its work with other processes training the same model.
///
/// Each rank trains on its `BatchShard` of every global batch (the batch size, learning rate and
/// steps per epoch are those of one process with the same batch size); the gradients, weighted by
/// shard size, are summed across ranks in buckets while backward runs, so every rank applies the
/// same update to the same weights.
public struct DataParallel: Sendable {
    public var communicator: any Communicator
    /// Batch norm over the whole global batch (PyTorch's SyncBatchNorm) instead of each rank's shard.
    /// Off by default, as in PyTorch DDP: it costs three small blocking allreduces per batch-norm
    /// layer and step, and with shards of 32 or more rows local statistics train as well.
    public var syncBatchNorm: Bool
    /// Gradient elements per allreduce bucket. A bucket starts reducing as soon as backward has
    /// filled it, overlapping the rest of backward; 0 makes one bucket, reduced after backward.
    public var bucketCapacity: Int

    /// 256 KiB of float32: the recipe's 784-512-256-10 network then reduces its last layers while
    /// the first layer's backward runs.
    public static let defaultBucketCapacity = 65_536

    public init(communicator: any Communicator, syncBatchNorm: Bool = false, bucketCapacity: Int = defaultBucketCapacity) {
        self.communicator = communicator
        self.syncBatchNorm = syncBatchNorm
        self.bucketCapacity = bucketCapacity
    }

    /// One process, no communication: an ordinary run.
    public static var singleProcess: DataParallel { DataParallel(communicator: SingleProcessCommunicator()) }

    public var isDistributed: Bool { communicator.size > 1 }
}
