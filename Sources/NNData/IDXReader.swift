import NNCore

/// Reads the IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed.
///
/// Layout: two zero bytes, a type code, the number of dimensions n, then n big-endian 32-bit sizes,
/// then the elements in C order, big-endian. Every field is checked against the file's length, so a
/// truncated download is reported as such instead of producing a short data set.
public enum IDXReader {
    /// Reads an IDX file, plain or gzip-compressed.
    public static func read(path: String) throws -> NumericArray {
        try parse(FileBytes.readMaybeGzip(path), source: path)
    }

    /// Parses IDX bytes; `source` names them in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws -> NumericArray {
        func fail(_ detail: String) -> NNError { .invalidData(source: source, detail: detail) }
        let expectedFix = "expected an IDX file (e.g. train-images-idx3-ubyte.gz); re-download it"
        guard bytes.count >= 4 else {
            throw fail("file has \(bytes.count) bytes, too short for an IDX header; the file is truncated or empty; \(expectedFix)")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw fail("bad magic number \(hex(bytes[0])) \(hex(bytes[1])) (IDX files start with 00 00); \(expectedFix)")
        }
        let type: ScalarType
        switch bytes[2] {
        case 0x08: type = .uint8
        case 0x09: type = .int8
        case 0x0B: type = .int16
        case 0x0C: type = .int32
        case 0x0D: type = .float32
        case 0x0E: type = .float64
        default:
            throw fail("unknown IDX element type code 0x\(hex(bytes[2])) (valid: 08 09 0b 0c 0d 0e); \(expectedFix)")
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw fail("IDX header declares 0 dimensions; \(expectedFix)") }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw fail("file ends inside the header (\(bytes.count) bytes, header needs \(headerSize)); the file is truncated; re-download it")
        }
        let shape = (0..<rank).map { Int(bytes.bigEndianUInt32(at: 4 + 4 * $0)) }
        guard let count = NumericArray.elementCount(shape), count <= Int.max / type.byteSize else {
            throw fail("dimensions \(shape) are impossibly large; the header is corrupt")
        }
        let payload = count * type.byteSize
        let available = bytes.count - headerSize
        guard available >= payload else {
            throw fail("truncated: dimensions \(shape.map(String.init).joined(separator: "×")) need \(payload) bytes of data "
                       + "but only \(available) follow the header; re-download the file")
        }
        guard available == payload else {
            throw fail("\(available - payload) bytes of unexpected data after the \(shape) array; the file is corrupt")
        }
        let values = type.decode(bytes, offset: headerSize, count: count, bigEndian: true)
        return NumericArray(shape: shape, values: values, isIntegral: type.isIntegral)
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }
}
