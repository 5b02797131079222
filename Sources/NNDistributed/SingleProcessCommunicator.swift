/// The communicator of an ordinary run: one rank, every collective the identity.
public final class SingleProcessCommunicator: Communicator {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localRank: Int { 0 }
    public var transportDescription: String { "single process" }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    public func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> any PendingReduction {
        FinishedReduction()
    }
    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try checkRoot(root)
    }
    public func broadcast(_ values: UnsafeMutableBufferPointer<Double>, root: Int) throws {
        try checkRoot(root)
    }
    public func allgather(_ values: [UInt64]) throws -> [[UInt64]] { [values] }
    public func barrier() throws {}

    private func checkRoot(_ root: Int) throws {
        guard root == 0 else {
            throw DistributedError.invalidArgument("broadcast root \(root) does not exist in a single-process run (rank 0 only)")
        }
    }
}

/// A reduction that completed when it was started.
public final class FinishedReduction: PendingReduction {
    public init() {}
    public func poll() throws -> Bool { true }
    public func wait() throws {}
}
