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
/// A destination that is a symbolic link is followed, so the link stays and its target is
/// replaced. A destination that exists but is no regular file (`/dev/null`, `/dev/stdout`, a
/// FIFO) is written in place: renaming over it would replace the device node itself.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to requestedPath: String) throws {
        let path = (requestedPath as NSString).resolvingSymlinksInPath
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            try writeInPlace(bytes, to: path)
            return
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = (directory as NSString).appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))")

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
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)  // best effort: some file systems refuse fsync on directories
            close(directoryFD)
        }
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

    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    private static func failure(_ call: String, _ path: String) -> NNError {
        let reason = String(cString: strerror(errno))
        return NNError.invalidData(source: path, detail: "cannot \(call) the file (\(reason)); check the folder exists, is writable and has free space")
    }
}
