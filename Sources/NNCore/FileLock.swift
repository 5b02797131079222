#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An exclusive advisory lock on a file (`flock`), held for as long as the value lives, naming the
/// process that holds it. The kernel releases it when the holder exits however it exits (SIGKILL
/// included), so a crash never leaves a stale lock behind.
///
/// The descriptor is close-on-exec, so a child process (a tuner's worker) never inherits the lock
/// and keeps it after its parent is gone.
public final class FileLock: @unchecked Sendable {
    public let path: String
    private let descriptor: Int32

    /// Why a lock could not be taken.
    public enum Failure: Error, Sendable {
        /// Another process holds it; its pid when the lock file names one.
        case held(pid: Int?)
        case unavailable(reason: String)
    }

    /// Takes the lock without waiting, creating `path` if needed, and writes this process's pid into it.
    public init(path: String) throws(Failure) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw .unavailable(reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno == EWOULDBLOCK ? Failure.held(pid: Self.holder(of: fd)) : .unavailable(reason: String(cString: strerror(errno)))
            close(fd)
            throw failure
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        self.path = path
        descriptor = fd
    }

    deinit {
        // Emptied first, so a reader that races the release never names a process that has let go.
        _ = ftruncate(descriptor, 0)
        close(descriptor)
    }

    /// The pid written by the current holder. It writes just after locking, so an empty file is
    /// read again for up to 0.2 s before giving up.
    private static func holder(of fd: Int32) -> Int? {
        for attempt in 0..<10 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            if n > 0, let pid = Int(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) {
                return pid
            }
            if attempt < 9 { usleep(20_000) }
        }
        return nil
    }
}
