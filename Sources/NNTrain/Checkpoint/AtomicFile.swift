#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NNCore

#if canImport(Glibc)
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { Glibc.write(fd, bytes, count) }
#elseif canImport(Darwin)
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { Darwin.write(fd, bytes, count) }
#endif

/// Whole-file writes that are atomic: readers see the old file or the new one, never a torn mix,
/// even if the process is killed or the machine loses power mid-write.
///
/// The bytes go to a uniquely named temporary file in the destination's directory (same file
/// system, so the rename is atomic), are flushed with `fsync`, and the file is renamed over the
/// destination; the directory is then synced so the rename itself survives a crash.
///
/// A destination that is a symbolic link is followed by default, so the link stays and its target
/// is replaced; with `followingSymlinks: false` (every file inside a run folder) the link itself is
/// replaced, so a link planted in `--out` can never redirect a write outside it. A destination that
/// exists but is no regular file (`/dev/null`, `/dev/stdout`, a FIFO) is written in place: renaming
/// over it would replace the device node itself.
///
/// The destination's folder must exist: a missing folder is an error, never created, so a mistyped
/// path does not scatter files.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to requestedPath: String, followingSymlinks: Bool = true) throws {
        let path = followingSymlinks ? (requestedPath as NSString).resolvingSymlinksInPath : requestedPath
        var status = stat()
        if lstat(path, &status) == 0 {
            let kind = status.st_mode & S_IFMT
            if kind != S_IFREG, kind != S_IFLNK, kind != S_IFDIR {
                try writeInPlace(bytes, to: path)
                return
            }
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw NNError.invalidData(source: path, detail: "cannot write it: the folder \(directory) does not exist; create it first or choose another path")
        }
        let temporary = (directory as NSString).appendingPathComponent(temporaryName(for: url.lastPathComponent))

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create", temporary) }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temporary) }
        }
        try writeAll(bytes, to: fd, path: temporary)
        guard fsync(fd) == 0 else { throw failure("fsync", temporary) }
        closed = true
        guard close(fd) == 0 else { throw failure("close", temporary) }
        guard rename(temporary, path) == 0 else { throw failure("rename onto \(path) from", temporary) }
        renamed = true
        AtomicDirectory.syncDirectory(directory)
    }

    /// `.NAME.tmp-PID-RANDOM`: hidden, unique, and recognisable as a leftover after a kill.
    static func temporaryName(for name: String) -> String {
        ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    }

    /// The name a temporary of ``temporaryName(for:)`` stood in for, or nil for any other name.
    static func originalName(ofTemporary name: String) -> String? {
        guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards),
              marker.lowerBound > name.index(after: name.startIndex) else { return nil }
        let suffix = name[marker.upperBound...]
        let parts = suffix.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        return String(name[name.index(after: name.startIndex)..<marker.lowerBound])
    }

    /// Writes into an existing special file (a device or a FIFO) without replacing it.
    private static func writeInPlace(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        try writeAll(bytes, to: fd, path: path)
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws {
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let n = posixWrite(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("write", path)
                }
                offset += n
            }
        }
    }

    public static func write(_ text: String, to path: String, followingSymlinks: Bool = true) throws {
        try write(Array(text.utf8), to: path, followingSymlinks: followingSymlinks)
    }

    private static func failure(_ call: String, _ path: String) -> NNError {
        let reason = String(cString: strerror(errno))
        return NNError.invalidData(source: path, detail: "cannot \(call) the file (\(reason)); check the folder exists, is writable and has free space")
    }
}
