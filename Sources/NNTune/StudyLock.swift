import Foundation
import NNCore

/// One tuner's exclusive hold on a study: an `flock` on `<study>/study.lock`, which also holds the
/// holder's PID so that a refused second tuner can name it.
///
/// Two tuners on one study would each take the other's running trials for orphans of a dead tuner
/// and kill them. The kernel drops an `flock` when its file is closed, which includes any death of
/// the holder, so there is never a stale lock to clean up; the file itself stays (deleting it would
/// race with a tuner that has just opened it).
public final class StudyLock {
    /// The lock file.
    public let path: String
    private var lock: FileLock?

    /// The lock file's name in the study folder.
    public static let fileName = "study.lock"

    /// Takes the lock of the study in `directory` (which must exist), or throws
    /// ``TuneError/studyInUse(name:pid:lockPath:)`` at once if another process holds it.
    public init(directory: URL, studyName: String) throws {
        path = directory.appendingPathComponent(Self.fileName).path
        do {
            lock = try FileLock(path: path)
        } catch .held(let pid) {
            throw TuneError.studyInUse(name: studyName, pid: pid, lockPath: path)
        } catch .unavailable(let reason) {
            throw TuneError.invalidStudy(name: studyName, detail: "cannot lock \(path): \(reason)")
        }
    }

    /// Gives the study up (also done when the process exits, however it exits).
    public func release() {
        lock = nil
    }
}
