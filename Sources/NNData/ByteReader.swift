import Foundation
import NNCore

/// Whole-file reads with the error every loader wants: a missing or unreadable file named, with a fix.
enum FileBytes {
    static func read(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw NNError.invalidData(source: path, detail: "no such file; check the path")
        }
        guard !isDirectory.boolValue else {
            throw NNError.invalidData(source: path, detail: "is a directory; give the path of a data file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NNError.invalidData(source: path, detail: "cannot be read; check its permissions")
        }
        return [UInt8](data)
    }

    /// The file's bytes, decompressed when they are gzip (detected by magic number, not by name).
    static func readMaybeGzip(_ path: String) throws -> [UInt8] {
        let raw = try read(path)
        return Inflate.isGzip(raw) ? try Inflate.gunzip(raw, source: path) : raw
    }
}

/// Fixed-width integer reads from a byte array, with bounds checked by the caller.
extension Array where Element == UInt8 {
    func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }

    func littleEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) | UInt16(self[offset + 1]) << 8
    }

    func littleEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 3]) << 24
    }

    func littleEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(littleEndianUInt32(at: offset)) | UInt64(littleEndianUInt32(at: offset + 4)) << 32
    }
}
