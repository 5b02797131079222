#if MPI
import Foundation
import NNDistributed

/// Ends this process with a message when a blocking collective waits longer than `timeout`.
///
/// Open MPI's own error handling covers a rank that dies (mpirun then stops the others), but not a
/// rank that hangs or never reaches the collective (a stuck file system, a rank still loading other
/// data): the rest would wait forever. A thread checks once a second how long the current call has
/// waited; past the limit it prints which call on which rank, and exits with status 1, which makes
/// mpirun end the whole job.
final class CollectiveWatchdog: @unchecked Sendable {
    private let rank: Int
    private let size: Int
    private let timeout: Double
    private let lock = NSLock()
    private var current: (call: String, since: Date)?
    private var running = true
    private var thread: Thread?

    init(rank: Int, size: Int, timeout: Double) {
        self.rank = rank
        self.size = size
        self.timeout = timeout
        let thread = Thread { [weak self] in
            while let self, self.isRunning {
                self.checkOnce()
                Thread.sleep(forTimeInterval: 1)
            }
        }
        thread.name = "nn MPI watchdog"
        thread.start()
        self.thread = thread
    }

    func watch<T>(_ call: String, _ body: () throws -> T) throws -> T {
        lock.withLock { current = (call, Date()) }
        defer { lock.withLock { current = nil } }
        return try body()
    }

    func stop() {
        lock.withLock { running = false }
    }

    private var isRunning: Bool { lock.withLock { running } }

    private func checkOnce() {
        guard let (call, since) = lock.withLock({ current }) else { return }
        let waited = Date().timeIntervalSince(since)
        guard waited > timeout else { return }
        let message = "nn: rank \(rank) of \(size) waited \(Int(waited)) s in \(call) for the other ranks "
            + "(limit \(Int(timeout)) s, set by NN_MPI_TIMEOUT); another rank has stopped responding or runs a different "
            + "command. Ending this rank so mpirun stops the job; resume it with mpirun … nn train --resume DIR\n"
        FileHandle.standardError.write(Data(message.utf8))
        exit(1)
    }
}
#endif
