import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One tuner's exclusive hold on a study: an `flock` on `<study>/study.lock`, which also holds the
/// holder's PID so that a refused second tuner can name it.
///
/// Two tuners on one study would each take the other's running trials for orphans of a dead tuner
/// and kill them. The kernel drops an `flock` when its file is closed, which includes any death of
/// the holder, so there is never a stale lock to clean up; the file itself stays (deleting it would
/// race with a tuner that has just opened it).
public final class StudyLock {
    public let path: String
    private var descriptor: Int32

    public static let fileName = "study.lock"

    /// Takes the lock of the study in `directory` (which must exist), or throws
    /// ``TuneError/studyInUse(name:pid:lockPath:)`` at once if another process holds it.
    public init(directory: URL, studyName: String) throws {
        path = directory.appendingPathComponent(Self.fileName).path
        // O_CLOEXEC: a worker must not inherit the descriptor, or an orphaned worker would keep the
        // study locked after its tuner died.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TuneError.invalidStudy(name: studyName, detail: "cannot open its lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            defer { close(fd) }
            guard failure == EWOULDBLOCK else {
                throw TuneError.invalidStudy(name: studyName, detail: "cannot lock \(path): \(String(cString: strerror(failure)))")
            }
            throw TuneError.studyInUse(name: studyName, pid: Self.holderPID(fd: fd), lockPath: path)
        }
        descriptor = fd
        let pid = "\(getpid())\n"
        // The PID is only for messages; the lock holds whether or not it could be written.
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit { release() }

    /// Gives the study up (also done when the process exits, however it exits).
    public func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    /// The PID the holder wrote. It writes just after locking, so an empty file is read again briefly.
    private static func holderPID(fd: Int32) -> Int? {
        for attempt in 0..<10 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 31, 0) }
            if count > 0, let pid = Int(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) {
                return pid
            }
            if attempt < 9 { usleep(20_000) }
        }
        return nil
    }
}
