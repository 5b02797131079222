import CZlib
import NNCore

/// Decompression through the system zlib: gzip files (IDX `.gz`) and raw deflate streams (`.npz` members).
enum Inflate {
    /// True when `bytes` begins with the gzip magic number 1f 8b, whatever the file is called.
    static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Decompresses a gzip file, including files of several concatenated gzip members.
    /// zlib checks each member's CRC-32 and length, so a corrupt or truncated file is an error.
    static func gunzip(_ compressed: [UInt8], source: String) throws -> [UInt8] {
        // windowBits 15 + 16: gzip wrapper only.
        try inflate(compressed, windowBits: 15 + 16, expectedSize: nil, source: source, allowConcatenated: true)
    }

    /// Decompresses a raw deflate stream (no header), as zip members store them.
    static func inflateRaw(_ compressed: [UInt8], expectedSize: Int, source: String) throws -> [UInt8] {
        try inflate(compressed, windowBits: -15, expectedSize: expectedSize, source: source, allowConcatenated: false)
    }

    /// CRC-32 as zip files record it.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt = CZlib.crc32(0, nil, 0)
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            // zlib takes a 32-bit length; feed large buffers in chunks.
            while offset < buffer.count {
                let chunk = min(buffer.count - offset, 1 << 30)
                crc = CZlib.crc32(crc, buffer.baseAddress! + offset, uInt(chunk))
                offset += chunk
            }
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    private static func inflate(_ compressed: [UInt8], windowBits: Int32, expectedSize: Int?, source: String,
                                allowConcatenated: Bool) throws -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(expectedSize ?? compressed.count * 4)
        let chunkSize = 1 << 20
        var chunk = [UInt8](repeating: 0, count: chunkSize)

        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw NNError.invalidData(source: source, detail: "zlib could not initialise a decompressor")
        }
        defer { inflateEnd(&stream) }

        try compressed.withUnsafeBufferPointer { input in
            guard let base = input.baseAddress, input.count > 0 else {
                throw NNError.invalidData(source: source, detail: "compressed data is empty; the file is truncated")
            }
            var consumed = 0
            while true {
                let available = min(input.count - consumed, Int(UInt32.max))
                stream.next_in = UnsafeMutablePointer(mutating: base + consumed)
                stream.avail_in = uInt(available)
                var status: Int32 = Z_OK
                repeat {
                    status = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                        stream.next_out = out.baseAddress
                        stream.avail_out = uInt(chunkSize)
                        return CZlib.inflate(&stream, Z_NO_FLUSH)
                    }
                    let produced = chunkSize - Int(stream.avail_out)
                    if produced > 0 { output.append(contentsOf: chunk[0..<produced]) }
                    if status == Z_STREAM_END { break }
                    guard status == Z_OK || status == Z_BUF_ERROR else {
                        let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                        throw NNError.invalidData(
                            source: source, detail: "compressed data is corrupt (\(reason)); re-download or re-create the file")
                    }
                    if status == Z_BUF_ERROR { break }  // no progress possible: all input consumed
                } while true
                consumed += available - Int(stream.avail_in)
                if status != Z_STREAM_END {
                    if consumed < input.count { continue }
                    throw NNError.invalidData(
                        source: source,
                        detail: "compressed data ends early (truncated file, \(input.count) bytes read); re-download or re-create the file")
                }
                // A gzip file may hold several members back to back; anything else after the end is junk.
                let rest = input.count - consumed
                if rest == 0 { break }
                if allowConcatenated && rest >= 2 && input[consumed] == 0x1F && input[consumed + 1] == 0x8B {
                    guard inflateReset(&stream) == Z_OK else {
                        throw NNError.invalidData(source: source, detail: "zlib could not reset the decompressor")
                    }
                    continue
                }
                if allowConcatenated && input[consumed...].allSatisfy({ $0 == 0 }) { break }  // tar-style zero padding
                throw NNError.invalidData(
                    source: source, detail: "\(rest) unexpected bytes after the end of the compressed data; the file is corrupt")
            }
        }
        if let expectedSize, output.count != expectedSize {
            throw NNError.invalidData(
                source: source, detail: "decompressed to \(output.count) bytes but the archive records \(expectedSize); the file is corrupt")
        }
        return output
    }
}
