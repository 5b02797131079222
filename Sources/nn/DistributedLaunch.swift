import Foundation
import NNDistributed
#if MPI
import NNMPI
#endif

/// How `nn train` joins a multi-process run: under Open MPI's `mpirun` with two or more ranks it
/// uses MPI; otherwise it is an ordinary single-process run that never touches MPI.
enum DistributedLaunch {
    /// Seconds a rank waits in one collective for the others before it gives up (default 120).
    static let timeoutVariable = "NN_MPI_TIMEOUT"
    static let defaultTimeout = 120.0

    /// The ranks mpirun started, read from the environment it sets; nil outside mpirun.
    static func launchedRanks(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> (rank: Int, size: Int)? {
        guard let size = environment["OMPI_COMM_WORLD_SIZE"].flatMap({ Int($0) }),
              let rank = environment["OMPI_COMM_WORLD_RANK"].flatMap({ Int($0) }) else { return nil }
        return (rank, size)
    }

    /// "nn (rank 1 of 2)" under mpirun, else "nn": how this process names itself in errors.
    static var label: String {
        guard let ranks = launchedRanks(), ranks.size > 1 else { return "nn" }
        return "nn (rank \(ranks.rank) of \(ranks.size))"
    }

    /// The communicator for this process.
    /// - Throws: ``DistributedError/unavailable(_:)`` when started by a launcher this build cannot
    ///   serve, or MPI cannot start; ``DistributedError/invalidArgument(_:)`` for a bad `NN_MPI_TIMEOUT`.
    static func communicator(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Communicator {
        guard let ranks = launchedRanks(environment), ranks.size > 1 else {
            if let other = environment["PMI_SIZE"].flatMap({ Int($0) }), other > 1 {
                throw DistributedError.unavailable(
                    "started by a launcher other than Open MPI's mpirun (PMI_SIZE=\(other), e.g. MPICH or srun); nn trains across processes with Open MPI only: start it with Open MPI's mpirun")
            }
            return SingleProcessCommunicator()
        }
        let timeout = try self.timeout(environment)
        #if MPI
        let communicator = try MPICommunicator(timeout: timeout, environment: environment)
        TerminationMessage.install(rank: communicator.rank, size: communicator.size)
        return communicator
        #else
        _ = timeout
        throw DistributedError.unavailable(
            "this nn was built without MPI (swift build --disable-default-traits) but mpirun started it as one of \(ranks.size) ranks; "
                + "install Open MPI (apt-get install libopenmpi-dev openmpi-bin) and rebuild with plain `swift build`, or run without mpirun")
        #endif
    }

    static func timeout(_ environment: [String: String]) throws -> Double {
        guard let text = environment[timeoutVariable], !text.isEmpty else { return defaultTimeout }
        guard let seconds = Double(text), seconds.isFinite, seconds >= 1 else {
            throw DistributedError.invalidArgument("\(timeoutVariable)=\(text) must be a number of seconds ≥ 1 (default \(Int(defaultTimeout)))")
        }
        return seconds
    }

    /// Ends MPI when this process used it (mpirun counts a rank that exits without it as failed).
    static func finish(_ communicator: any Communicator) {
        #if MPI
        (communicator as? MPICommunicator)?.finalize()
        #endif
    }
}

/// What a rank prints when mpirun stops it because another rank died or failed (or the user
/// interrupted mpirun): mpirun sends SIGTERM to the ranks, which would otherwise vanish without a
/// word of their own.
enum TerminationMessage {
    nonisolated(unsafe) private static var text: UnsafeMutableBufferPointer<UInt8>?

    static func install(rank: Int, size: Int) {
        let message = "nn (rank \(rank) of \(size)): stopped by mpirun: another rank of this job died or failed, or the job "
            + "was interrupted (mpirun's message says which); the last checkpoint is intact: continue with mpirun … nn train --resume DIR\n"
        let bytes = Array(message.utf8)
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
        _ = buffer.initialize(from: bytes)
        text = buffer
        signal(SIGTERM) { _ in
            // Only async-signal-safe calls here: write(2) of a prepared buffer, then _exit.
            if let text = TerminationMessage.text { _ = write(2, text.baseAddress, text.count) }
            _exit(143)
        }
    }
}
