import NNCore
import NNDistributed

/// Averages gradients across ranks in buckets, each reduced as soon as backward has filled it.
///
/// Buckets are fixed once, from the layers in backward order (last layer first), closing a bucket
/// when it holds at least `capacity` elements; so every rank builds the same buckets and issues the
/// same allreduces in the same order. Each gradient enters its bucket multiplied by the rank's shard
/// weight m_r/M, so the sum over ranks is the gradient of the mean loss over the global batch, also
/// when the last batch splits unevenly.
final class GradientReducer {
    private let communicator: any Communicator
    private let backend: any Backend
    private let buckets: [Bucket]
    private var weight: Float = 1
    /// Seconds spent waiting for reductions after backward in the last step (what overlap left).
    private(set) var lastWaitSeconds: Double = 0

    final class Bucket {
        let parameters: [Parameter]
        let offsets: [Int]
        let storage: UnsafeMutableBufferPointer<Float>
        let count: Int
        var filled = 0
        var pending: (any PendingReduction)?

        init(parameters: [Parameter]) {
            self.parameters = parameters
            var offsets: [Int] = [], total = 0
            for p in parameters {
                offsets.append(total)
                total += p.value.count
            }
            self.offsets = offsets
            count = total
            storage = .allocate(capacity: max(total, 1))
            storage.initialize(repeating: 0)
        }

        deinit { storage.deallocate() }
    }

    /// - Parameter layers: each layer's parameters in backward order (layers without any left out).
    init(layers: [[Parameter]], capacity: Int, communicator: any Communicator, backend: any Backend) {
        self.communicator = communicator
        self.backend = backend
        var buckets: [Bucket] = [], current: [Parameter] = [], count = 0
        for parameters in layers {
            current += parameters
            count += parameters.reduce(0) { $0 + $1.value.count }
            if capacity > 0, count >= capacity {
                buckets.append(Bucket(parameters: current))
                current = []
                count = 0
            }
        }
        if !current.isEmpty { buckets.append(Bucket(parameters: current)) }
        self.buckets = buckets
    }

    /// Bucket sizes in elements, in reduction order (for logs and benchmarks).
    var bucketSizes: [Int] { buckets.map(\.count) }

    func begin(shard: BatchShard) {
        weight = shard.weight
        for b in buckets {
            b.filled = 0
            b.pending = nil
        }
    }

    /// Packs a layer's finished gradients; starts its bucket's allreduce once the bucket is full.
    func layerDone(_ parameters: [Parameter]) throws {
        for p in parameters {
            guard let (bucket, index) = locate(p) else {
                throw NNError.invalidArgument(op: "gradient allreduce", detail: "parameter \(p.name) belongs to no bucket")
            }
            let values = try backend.download(p.gradient)
            let offset = bucket.offsets[index]
            for i in values.indices { bucket.storage[offset + i] = values[i] * weight }
            bucket.filled += 1
            if bucket.filled == bucket.parameters.count {
                bucket.pending = try communicator.startAllreduceSum(bucket.storage)
            }
        }
        // MPI advances non-blocking collectives only inside MPI calls: give the in-flight ones a turn.
        for b in buckets { if let pending = b.pending { _ = try pending.poll() } }
    }

    /// Waits for every bucket and writes the averaged gradients back.
    func finish() throws {
        let clock = ContinuousClock(), start = clock.now
        for b in buckets {
            guard let pending = b.pending else {
                throw NNError.invalidArgument(
                    op: "gradient allreduce", detail: "a bucket of \(b.parameters.count) gradients was never filled; backward did not reach every layer")
            }
            try pending.wait()
        }
        lastWaitSeconds = Trainer.seconds(clock.now - start)
        for b in buckets {
            for (p, offset) in zip(b.parameters, b.offsets) {
                try backend.upload(Array(b.storage[offset..<offset + p.value.count]), to: p.gradient)
            }
        }
    }

    private func locate(_ p: Parameter) -> (Bucket, Int)? {
        for b in buckets { if let i = b.parameters.firstIndex(where: { $0 === p }) { return (b, i) } }
        return nil
    }
}
