import NNCore

/// Reads NumPy's `.npz` archives: a zip file whose members `name.npy` are arrays.
///
/// Members may be stored (`numpy.savez`) or deflated (`numpy.savez_compressed`); zip64 records, which
/// NumPy writes for every member, are understood. Each member's CRC-32 is checked.
public enum NPZReader {
    /// Every array in the archive by name (without the `.npy` suffix), in archive order.
    public static func read(path: String) throws -> [(name: String, array: NumericArray)] {
        try parse(FileBytes.read(path), source: path)
    }

    /// Parses `.npz` bytes (see ``read(path:)``); `source` names them in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws -> [(name: String, array: NumericArray)] {
        try ZipArchive(bytes, source: source).members.map { member in
            let data = try member.contents()
            let name = member.name.hasSuffix(".npy") ? String(member.name.dropLast(4)) : member.name
            return (name, try NPYReader.parse(data, source: "\(source)[\(member.name)]"))
        }
    }
}

/// The central directory of a zip archive, enough to extract stored and deflated members.
struct ZipArchive {
    struct Member {
        let name: String
        let method: UInt16
        let crc: UInt32
        let compressedSize: Int
        let uncompressedSize: Int
        let dataStart: Int
        let archive: [UInt8]
        let source: String

        func contents() throws -> [UInt8] {
            let location = "\(source)[\(name)]"
            guard dataStart + compressedSize <= archive.count else {
                throw NNError.invalidData(source: location, detail: "member data runs past the end of the archive; the file is truncated")
            }
            let raw = Array(archive[dataStart..<(dataStart + compressedSize)])
            let data: [UInt8]
            switch method {
            case 0:
                data = raw
            case 8:
                data = try Inflate.inflateRaw(raw, expectedSize: uncompressedSize, source: location)
            default:
                throw NNError.invalidData(
                    source: location,
                    detail: "zip compression method \(method) is not supported (only stored and deflate); re-save with numpy.savez or numpy.savez_compressed")
            }
            guard data.count == uncompressedSize, Inflate.crc32(data) == crc else {
                throw NNError.invalidData(source: location, detail: "CRC-32 check failed; the archive is corrupt")
            }
            return data
        }
    }

    let members: [Member]

    init(_ bytes: [UInt8], source: String) throws {
        func fail(_ detail: String) -> NNError { .invalidData(source: source, detail: detail) }
        // The end-of-central-directory record sits within the last 22 + 65,535 bytes (its comment is at most 64 KiB).
        let eocdSignature: UInt32 = 0x0605_4B50
        guard bytes.count >= 22 else {
            throw fail("file has \(bytes.count) bytes, too short for a zip archive; the file is truncated or not an .npz")
        }
        var eocd = -1
        var i = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while i >= lowest {
            if bytes.littleEndianUInt32(at: i) == eocdSignature { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else {
            throw fail("no zip end-of-central-directory record; the file is truncated or not an .npz archive (save with numpy.savez)")
        }
        var entryCount = Int(bytes.littleEndianUInt16(at: eocd + 10))
        var directorySize = Int(bytes.littleEndianUInt32(at: eocd + 12))
        var directoryOffset = Int(bytes.littleEndianUInt32(at: eocd + 16))
        // Zip64: a locator 20 bytes before the record points at the zip64 end-of-central-directory record.
        if eocd >= 20, bytes.littleEndianUInt32(at: eocd - 20) == 0x0706_4B50 {
            let record = Int(clamping: bytes.littleEndianUInt64(at: eocd - 20 + 8))
            guard record >= 0, record <= bytes.count - 56, bytes.littleEndianUInt32(at: record) == 0x0606_4B50 else {
                throw fail("zip64 end-of-central-directory record is missing or corrupt")
            }
            entryCount = Int(clamping: bytes.littleEndianUInt64(at: record + 32))
            directorySize = Int(clamping: bytes.littleEndianUInt64(at: record + 40))
            directoryOffset = Int(clamping: bytes.littleEndianUInt64(at: record + 48))
        }
        guard directoryOffset >= 0, directorySize >= 0, directoryOffset <= bytes.count - directorySize else {
            throw fail("zip central directory lies outside the file; the file is truncated or corrupt")
        }

        var members: [Member] = []
        var p = directoryOffset
        for _ in 0..<entryCount {
            guard p + 46 <= bytes.count, bytes.littleEndianUInt32(at: p) == 0x0201_4B50 else {
                throw fail("corrupt zip central directory entry at byte \(p)")
            }
            let flags = bytes.littleEndianUInt16(at: p + 8)
            let method = bytes.littleEndianUInt16(at: p + 10)
            let crc = bytes.littleEndianUInt32(at: p + 16)
            var compressed = UInt64(bytes.littleEndianUInt32(at: p + 20))
            var uncompressed = UInt64(bytes.littleEndianUInt32(at: p + 24))
            let nameLength = Int(bytes.littleEndianUInt16(at: p + 28))
            let extraLength = Int(bytes.littleEndianUInt16(at: p + 30))
            let commentLength = Int(bytes.littleEndianUInt16(at: p + 32))
            var localOffset = UInt64(bytes.littleEndianUInt32(at: p + 42))
            let entryEnd = p + 46 + nameLength + extraLength + commentLength
            guard entryEnd <= bytes.count else { throw fail("zip central directory is truncated") }
            let name = String(decoding: bytes[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            if flags & 1 != 0 {
                throw fail("member \(name) is encrypted; save the arrays without encryption")
            }
            // Zip64 extra field (id 1): 64-bit values for whichever 32-bit fields are saturated, in this order.
            var q = p + 46 + nameLength
            let extraEnd = q + extraLength
            while q + 4 <= extraEnd {
                let id = bytes.littleEndianUInt16(at: q)
                let size = Int(bytes.littleEndianUInt16(at: q + 2))
                guard q + 4 + size <= extraEnd else { throw fail("corrupt extra field for \(name) in the zip central directory") }
                var field = q + 4
                if id == 1 {
                    func next() throws -> UInt64 {
                        guard field + 8 <= q + 4 + size else { throw fail("corrupt zip64 extra field for \(name)") }
                        defer { field += 8 }
                        return bytes.littleEndianUInt64(at: field)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                }
                q += 4 + size
            }
            // The data follows the local header, whose name and extra lengths may differ from the central copy.
            guard bytes.count >= 30, localOffset <= UInt64(bytes.count - 30), compressed <= UInt64(bytes.count),
                  uncompressed < UInt64(Int.max) else {
                throw fail("member \(name) lies outside the file; the archive is truncated")
            }
            let local = Int(localOffset)
            guard bytes.littleEndianUInt32(at: local) == 0x0403_4B50 else {
                throw fail("member \(name) has no local header at byte \(local); the archive is corrupt")
            }
            let dataStart = local + 30 + Int(bytes.littleEndianUInt16(at: local + 26)) + Int(bytes.littleEndianUInt16(at: local + 28))
            members.append(Member(name: name, method: method, crc: crc, compressedSize: Int(compressed),
                                  uncompressedSize: Int(uncompressed), dataStart: dataStart, archive: bytes, source: source))
            p = entryEnd
        }
        self.members = members
    }
}
