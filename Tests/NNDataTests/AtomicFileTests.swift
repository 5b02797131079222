#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NNTrain
import XCTest

/// Atomic replacement must only ever replace regular files: `nn eval --predictions /dev/stdout`
/// (or /dev/null, or a FIFO) once renamed a temporary file over the device node.
final class AtomicFileTests: XCTestCase {
    func testSymbolicLinkStaysALinkAndItsTargetIsReplaced() throws {
        let dir = try TemporaryDirectory()
        let target = dir.file("target.txt"), link = dir.file("link.txt")
        try AtomicFile.write("old", to: target)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)

        try AtomicFile.write("new", to: link)

        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "new")
    }

    func testSpecialFileIsWrittenInPlaceNotReplaced() throws {
        let dir = try TemporaryDirectory()
        let fifo = dir.file("pipe")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0, "mkfifo")
        // A FIFO's writer blocks until a reader opens it, so read on another thread.
        let received = LockedBytes()
        let reader = Thread {
            // Data(contentsOf:) sizes its read by fstat, which is 0 for a FIFO; read to EOF instead.
            let handle = FileHandle(forReadingAtPath: fifo)
            received.set(handle?.readDataToEndOfFile() ?? Data())
        }
        reader.start()

        try AtomicFile.write("through the pipe", to: fifo)

        let deadline = Date().addingTimeInterval(10)
        while received.value == nil, Date() < deadline { usleep(10_000) }
        XCTAssertEqual(received.value.map { String(decoding: $0, as: UTF8.self) }, "through the pipe")
        var status = stat()
        XCTAssertEqual(stat(fifo, &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFIFO, "the FIFO must still be a FIFO, not a regular file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["pipe"], "no temporary file left")
    }
}

private final class LockedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: Data?
    var value: Data? { lock.lock(); defer { lock.unlock() }; return bytes }
    func set(_ data: Data) { lock.lock(); bytes = data; lock.unlock() }
}
