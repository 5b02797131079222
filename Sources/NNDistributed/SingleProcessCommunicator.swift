/// The communicator of an ordinary run: one rank, every collective the identity.
public final class SingleProcessCommunicator: Communicator {
    /// The communicator of an ordinary, one-process run.
    public init() {}

    /// Always 0.
    public var rank: Int { 0 }
    /// Always 1.
    public var size: Int { 1 }
    /// Always 0.
    public var localRank: Int { 0 }
    /// "single process".
    public var transportDescription: String { "single process" }

    /// The sum over one rank: values unchanged.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    /// The sum over one rank: values unchanged.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    /// A reduction that has already finished.
    public func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> any PendingReduction {
        FinishedReduction()
    }
    /// Checks that `root` is 0; values stay as they are.
    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try checkRoot(root)
    }
    /// Checks that `root` is 0; values stay as they are.
    public func broadcast(_ values: UnsafeMutableBufferPointer<Double>, root: Int) throws {
        try checkRoot(root)
    }
    /// The one rank's values.
    public func allgather(_ values: [UInt64]) throws -> [[UInt64]] { [values] }
    /// Returns at once.
    public func barrier() throws {}

    private func checkRoot(_ root: Int) throws {
        guard root == 0 else {
            throw DistributedError.invalidArgument("broadcast root \(root) does not exist in a single-process run (rank 0 only)")
        }
    }
}

/// A reduction that completed when it was started.
public final class FinishedReduction: PendingReduction {
    /// A reduction with nothing left to do.
    public init() {}
    /// Always true.
    public func poll() throws -> Bool { true }
    /// Returns at once.
    public func wait() throws {}
}
