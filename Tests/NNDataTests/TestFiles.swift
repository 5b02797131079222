import Foundation
import XCTest

/// A fresh temporary directory per test, removed afterwards; bad files are made here, never in the repo.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("nndata-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    @discardableResult
    func write(_ name: String, text: String) throws -> String {
        try write(name, Array(text.utf8))
    }
}

/// Builders for the binary formats under test, written from the format specifications.
enum Fixture {
    /// An IDX file: 00 00 type rank, big-endian sizes, big-endian data.
    static func idx(typeCode: UInt8, shape: [Int], payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, typeCode, UInt8(shape.count)]
        for d in shape { bytes += bigEndian(UInt32(d)) }
        return bytes + payload
    }

    static func idxUInt8(shape: [Int], values: [UInt8]) -> [UInt8] {
        idx(typeCode: 0x08, shape: shape, payload: values)
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func littleEndian<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }

    /// A version-1 `.npy` file with the header padded (as NumPy does) so data starts 64-byte aligned.
    static func npy(descr: String, shape: [Int], fortran: Bool = false, payload: [UInt8], version: UInt8 = 1) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        let prefix = version == 1 ? 10 : 12
        while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        bytes += version == 1 ? littleEndian(UInt16(header.utf8.count)) : littleEndian(UInt32(header.utf8.count))
        return bytes + Array(header.utf8) + payload
    }

    static func float32LE(_ values: [Float]) -> [UInt8] { values.flatMap { littleEndian($0.bitPattern) } }
    static func float64LE(_ values: [Double]) -> [UInt8] { values.flatMap { littleEndian($0.bitPattern) } }
    static func int64LE(_ values: [Int64]) -> [UInt8] { values.flatMap { littleEndian($0) } }

    /// gzip through the system `gzip` tool (Debian's Priority: required package), so the tests check our
    /// decompressor against an independent compressor.
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-c", "-n", "-6"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // Feed stdin from another thread so a large input cannot dead-lock against a full stdout pipe.
        let writer = Thread {
            input.fileHandleForWriting.write(Data(bytes))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "gzip", code: Int(process.terminationStatus))
        }
        return [UInt8](data)
    }

    /// A zip archive of `members`, each stored or deflated (the deflate stream is cut out of gzip's
    /// output: gzip -n writes a fixed 10-byte header and an 8-byte CRC/size trailer around it).
    static func zip(_ members: [(name: String, data: [UInt8], deflate: Bool)]) throws -> [UInt8] {
        var archive: [UInt8] = []
        var central: [UInt8] = []
        for m in members {
            var body = m.data
            var method: UInt16 = 0
            if m.deflate {
                let gz = try gzip(m.data)
                body = Array(gz[10..<(gz.count - 8)])
                method = 8
            }
            let crc = crc32(m.data)
            let offset = UInt32(archive.count)
            let name = Array(m.name.utf8)
            archive += littleEndian(UInt32(0x0403_4B50)) + littleEndian(UInt16(20)) + littleEndian(UInt16(0))
                + littleEndian(method) + littleEndian(UInt16(0)) + littleEndian(UInt16(0)) + littleEndian(crc)
                + littleEndian(UInt32(body.count)) + littleEndian(UInt32(m.data.count))
                + littleEndian(UInt16(name.count)) + littleEndian(UInt16(0)) + name + body
            central += littleEndian(UInt32(0x0201_4B50)) + littleEndian(UInt16(20)) + littleEndian(UInt16(20))
                + littleEndian(UInt16(0)) + littleEndian(method) + littleEndian(UInt16(0)) + littleEndian(UInt16(0))
                + littleEndian(crc) + littleEndian(UInt32(body.count)) + littleEndian(UInt32(m.data.count))
                + littleEndian(UInt16(name.count)) + littleEndian(UInt16(0)) + littleEndian(UInt16(0))
                + littleEndian(UInt16(0)) + littleEndian(UInt16(0)) + littleEndian(UInt32(0)) + littleEndian(offset) + name
        }
        let centralOffset = UInt32(archive.count)
        archive += central
        archive += littleEndian(UInt32(0x0605_4B50)) + littleEndian(UInt16(0)) + littleEndian(UInt16(0))
            + littleEndian(UInt16(members.count)) + littleEndian(UInt16(members.count))
            + littleEndian(UInt32(central.count)) + littleEndian(centralOffset) + littleEndian(UInt16(0))
        return archive
    }

    /// Bitwise CRC-32 (IEEE), independent of zlib's table-driven one.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// The repository root, from this file's path (Tests/NNDataTests/TestFiles.swift).
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The first `rows` rows of the digits fixture (64 pixels and a label each), written into
    /// `directory` as `digits-<rows>.csv`: a data set small enough to train on in a test.
    static func digitsPrefix(rows: Int, in directory: TemporaryDirectory) throws -> String {
        let digits = (repositoryRoot as NSString).appendingPathComponent("Tests/Fixtures/digits.csv")
        let lines = try String(contentsOfFile: digits, encoding: .utf8).split(separator: "\n").prefix(rows)
        return try directory.write("digits-\(rows).csv", text: lines.joined(separator: "\n") + "\n")
    }

    /// `nn train` arguments of a small run on `data` (a ``digitsPrefix(rows:in:)`` of 300 rows): 270
    /// training samples at batch 32 are 9 steps per epoch, and batch norm, dropout and Adam make all
    /// run state (moments, running statistics, shuffle RNG, Philox offset) take part.
    static func smallRun(data: String) -> [String] {
        ["--data", data, "--dev-size", "30", "--layers", "16", "--batch", "32", "--dropout", "0.9", "--seed", "7", "--no-progress"]
    }
}

/// Asserts that `body` throws an error whose description contains every one of `fragments`.
func XCTAssertThrowsMessage<T>(_ body: @autoclosure () throws -> T, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error mentioning \(fragments)", file: file, line: line)
    } catch {
        let message = String(describing: error)
        for fragment in fragments where !message.contains(fragment) {
            XCTFail("error \"\(message)\" does not mention \"\(fragment)\"", file: file, line: line)
        }
    }
}
