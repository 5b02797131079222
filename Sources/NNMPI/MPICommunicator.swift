#if MPI
import CMPI
import Foundation
import NNDistributed

/// A `Communicator` over Open MPI's `MPI_COMM_WORLD`, for processes started by `mpirun`.
///
/// Errors come back as return codes (`MPI_ERRORS_RETURN`) and are thrown as
/// ``DistributedError/transport(call:detail:)``. Every blocking call runs under a
/// ``CollectiveWatchdog``: a peer that stops answering ends this rank with a message instead of a hang.
/// MPI is initialised with `MPI_THREAD_FUNNELED`: only the training thread calls MPI.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let localRank: Int
    public let transportDescription: String
    private let comm: MPI_Comm
    private let watchdog: CollectiveWatchdog
    private var finalized = false

    /// Environment variables `mpirun` (Open MPI's launcher) sets in every process it starts.
    public static let sizeVariable = "OMPI_COMM_WORLD_SIZE"
    public static let rankVariable = "OMPI_COMM_WORLD_RANK"
    public static let localRankVariable = "OMPI_COMM_WORLD_LOCAL_RANK"

    /// Initialises MPI (once per process) and joins `MPI_COMM_WORLD`.
    /// - Parameter timeout: seconds a blocking collective may wait for the other ranks.
    public init(timeout: Double, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        guard initialized == 0 else {
            throw DistributedError.invalidArgument("MPI is initialised once per process; create one MPICommunicator and share it")
        }
        var provided: Int32 = 0
        var argc: Int32 = 0
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let status = MPI_Init_thread(&argc, &argv, Int32(MPI_THREAD_FUNNELED), &provided)
        guard status == MPI_SUCCESS else {
            throw DistributedError.unavailable("MPI_Init_thread returned \(status); is this process started by mpirun?")
        }
        comm = swiftnn_mpi_comm_world()
        MPI_Comm_set_errhandler(comm, swiftnn_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
        localRank = environment[Self.localRankVariable].flatMap { Int($0) } ?? 0
        var version = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING))
        var length: Int32 = 0
        MPI_Get_library_version(&version, &length)
        let library = String(decoding: version.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: ",").first.map(String.init) ?? "MPI"
        transportDescription = "\(library), \(s) ranks"
        watchdog = CollectiveWatchdog(rank: rank, size: size, timeout: timeout)
    }

    /// Ends MPI; mpirun treats a rank that exits without it as failed.
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        watchdog.stop()
        MPI_Finalize()
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        try blocking("MPI_Allreduce(\(values.count) floats)") {
            MPI_Allreduce(swiftnn_mpi_in_place(), values.baseAddress, try count(values.count), swiftnn_mpi_float(), swiftnn_mpi_sum(), comm)
        }
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        try blocking("MPI_Allreduce(\(values.count) doubles)") {
            MPI_Allreduce(swiftnn_mpi_in_place(), values.baseAddress, try count(values.count), swiftnn_mpi_double(), swiftnn_mpi_sum(), comm)
        }
    }

    public func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> any PendingReduction {
        var request: MPI_Request? = swiftnn_mpi_request_null()
        let status = MPI_Iallreduce(swiftnn_mpi_in_place(), values.baseAddress, try count(values.count), swiftnn_mpi_float(),
                                    swiftnn_mpi_sum(), comm, &request)
        try check(status, "MPI_Iallreduce(\(values.count) floats)")
        return MPIReduction(request: request, communicator: self, label: "MPI_Iallreduce(\(values.count) floats)")
    }

    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try blocking("MPI_Bcast(\(values.count) floats)") {
            MPI_Bcast(values.baseAddress, try count(values.count), swiftnn_mpi_float(), try rootRank(root), comm)
        }
    }

    public func broadcast(_ values: UnsafeMutableBufferPointer<Double>, root: Int) throws {
        try blocking("MPI_Bcast(\(values.count) doubles)") {
            MPI_Bcast(values.baseAddress, try count(values.count), swiftnn_mpi_double(), try rootRank(root), comm)
        }
    }

    public func allgather(_ values: [UInt64]) throws -> [[UInt64]] {
        // Counts first, so ranks that disagree on the count get an error instead of a truncated gather.
        var counts = [UInt64](repeating: 0, count: size)
        var mine = UInt64(values.count)
        try blocking("MPI_Allgather(count)") {
            MPI_Allgather(&mine, 1, swiftnn_mpi_uint64(), &counts, 1, swiftnn_mpi_uint64(), comm)
        }
        guard counts.allSatisfy({ $0 == mine }) else {
            throw DistributedError.mismatch("ranks gathered different numbers of values (\(counts.map(String.init).joined(separator: ", "))); every rank must run the same nn build and command")
        }
        var send = values
        var gathered = [UInt64](repeating: 0, count: size * values.count)
        try blocking("MPI_Allgather(\(values.count) words)") {
            MPI_Allgather(&send, try count(values.count), swiftnn_mpi_uint64(), &gathered, try count(values.count), swiftnn_mpi_uint64(), comm)
        }
        return (0..<size).map { Array(gathered[$0 * values.count..<($0 + 1) * values.count]) }
    }

    public func barrier() throws {
        try blocking("MPI_Barrier") { MPI_Barrier(comm) }
    }

    // MARK: Helpers

    func blocking(_ call: String, _ body: () throws -> Int32) throws {
        let status = try watchdog.watch(call, body)
        try check(status, call)
    }

    func check(_ status: Int32, _ call: String) throws {
        guard status != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING))
        var length: Int32 = 0
        MPI_Error_string(status, &text, &length)
        let detail = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw DistributedError.transport(call: call, detail: "\(detail) (rank \(rank) of \(size)); a rank may have died, see mpirun's message")
    }

    private func count(_ n: Int) throws -> Int32 {
        guard let c = Int32(exactly: n) else {
            throw DistributedError.invalidArgument("a collective of \(n) elements exceeds MPI's count limit of \(Int32.max); use smaller buckets")
        }
        return c
    }

    private func rootRank(_ root: Int) throws -> Int32 {
        guard (0..<size).contains(root) else {
            throw DistributedError.invalidArgument("broadcast root \(root) is not a rank of this job (0..<\(size))")
        }
        return Int32(root)
    }
}

/// An `MPI_Iallreduce` in flight.
final class MPIReduction: PendingReduction {
    private var request: MPI_Request?
    private let communicator: MPICommunicator
    private let label: String
    private var done = false

    init(request: MPI_Request?, communicator: MPICommunicator, label: String) {
        self.request = request
        self.communicator = communicator
        self.label = label
    }

    func poll() throws -> Bool {
        guard !done else { return true }
        var flag: Int32 = 0
        try communicator.check(MPI_Test(&request, &flag, swiftnn_mpi_status_ignore()), "MPI_Test(\(label))")
        done = flag != 0
        return done
    }

    func wait() throws {
        guard !done else { return }
        try communicator.blocking("MPI_Wait(\(label))") { MPI_Wait(&request, swiftnn_mpi_status_ignore()) }
        done = true
    }
}
#endif
