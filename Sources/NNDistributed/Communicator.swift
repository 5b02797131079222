/// The processes (ranks) that train one model together, and the collective operations they use.
///
/// Every rank must call the same collectives in the same order with the same buffer sizes; the
/// training stack guarantees that by running the same steps on every rank. Implementations never
/// trap: a transport failure is a thrown ``DistributedError``, and a peer that stops answering must
/// not hang the others forever (MPI's ends the rank with a message after a time limit).
///
/// The training stack (NNTrain) sees only this protocol: ``SingleProcessCommunicator`` for ordinary
/// runs, NNMPI's `MPICommunicator` under `mpirun`.
public protocol Communicator: AnyObject, Sendable {
    /// This process's index, 0 ..< ``size``; rank 0 prints and writes files.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }
    /// Index among the ranks on this host, used to pick a device per rank.
    var localRank: Int { get }
    /// Says what carries the collectives, for the log ("Open MPI 4.1.4, 2 ranks").
    var transportDescription: String { get }

    /// values ← Σ over ranks of values, elementwise, on every rank.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws
    /// values ← Σ over ranks of values, in Float64.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws
    /// Starts values ← Σ over ranks without waiting; `values` must stay alive and untouched until
    /// the returned reduction's ``PendingReduction/wait()`` returns.
    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> any PendingReduction
    /// values ← root's values, on every rank.
    func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) throws
    /// values ← root's values, in Float64.
    func broadcast(_ values: UnsafeMutableBufferPointer<Double>, root: Int) throws
    /// Every rank's `values` (the same count on every rank), indexed by rank.
    func allgather(_ values: [UInt64]) throws -> [[UInt64]]
    /// Returns once every rank has called it.
    func barrier() throws
}

/// An allreduce in flight.
public protocol PendingReduction: AnyObject {
    /// Lets the transport advance the reduction (MPI progresses non-blocking collectives only inside
    /// MPI calls); true once it has finished.
    func poll() throws -> Bool
    /// Blocks until the reduction has finished and its buffer holds the sum.
    func wait() throws
}

extension Communicator {
    /// Whether this is rank 0, the rank that prints and writes files.
    public var isRoot: Bool { rank == 0 }

    /// values ← Σ over ranks of values, for an array.
    public func allreduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// values ← Σ over ranks of values, for an array of Float64.
    public func allreduceSum(_ values: inout [Double]) throws {
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// values ← root's values, for an array.
    public func broadcast(_ values: inout [Float], root: Int = 0) throws {
        try values.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    /// values ← root's values, for an array of Float64.
    public func broadcast(_ values: inout [Double], root: Int = 0) throws {
        try values.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }
}
