import NNCore

/// Reads NumPy's `.npy` format (versions 1.0, 2.0 and 3.0).
///
/// Layout: the magic "\x93NUMPY", a major and minor version byte, the header length (2 bytes little-endian
/// in version 1, 4 bytes in 2 and 3), then a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }`, then the raw data.
/// Numeric and boolean dtypes in either byte order are read; object, string, complex and structured
/// dtypes, and Fortran-ordered arrays, are refused with the conversion that fixes them.
public enum NPYReader {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Reads a `.npy` file.
    public static func read(path: String) throws -> NumericArray {
        try parse(FileBytes.read(path), source: path)
    }

    /// Parses `.npy` bytes; `source` names them in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws -> NumericArray {
        func fail(_ detail: String) -> NNError { .invalidData(source: source, detail: detail) }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw fail("not a NumPy .npy file (missing the \\x93NUMPY magic); save arrays with numpy.save")
        }
        let major = bytes[6]
        let headerLengthSize: Int
        switch major {
        case 1: headerLengthSize = 2
        case 2, 3: headerLengthSize = 4
        default: throw fail("unsupported .npy format version \(major).\(bytes[7]); save with numpy.save from NumPy ≥ 1.9")
        }
        guard bytes.count >= 8 + headerLengthSize else { throw fail("file ends inside the header; the file is truncated") }
        let headerLength = headerLengthSize == 2
            ? Int(bytes.littleEndianUInt16(at: 8)) : Int(bytes.littleEndianUInt32(at: 8))
        let headerStart = 8 + headerLengthSize
        guard bytes.count >= headerStart + headerLength else {
            throw fail("file ends inside the \(headerLength)-byte header; the file is truncated")
        }
        // Version 3 allows UTF-8 in the header; 1 and 2 are Latin-1, which for valid headers is ASCII.
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let dict = try HeaderDictionary(header, source: source)

        let descr = try dict.string("descr")
        let fortranOrder = try dict.bool("fortran_order")
        let shape = try dict.shape("shape")
        let (type, bigEndian) = try scalarType(descr, source: source)
        if fortranOrder && shape.count > 1 {
            throw fail("array is in Fortran (column-major) order; only C order is supported: "
                       + "save numpy.ascontiguousarray(a) instead")
        }
        guard let count = NumericArray.elementCount(shape), count <= Int.max / type.byteSize else {
            throw fail("shape \(shape) is impossibly large; the header is corrupt")
        }
        let dataStart = headerStart + headerLength
        let payload = count * type.byteSize
        let available = bytes.count - dataStart
        guard available >= payload else {
            throw fail("truncated: shape \(shape) of \(type.rawValue) needs \(payload) bytes of data but only \(available) follow the header")
        }
        guard available == payload else {
            throw fail("\(available - payload) bytes of unexpected data after the \(shape) array; the file is corrupt")
        }
        let values = type.decode(bytes, offset: dataStart, count: count, bigEndian: bigEndian)
        return NumericArray(shape: shape, values: values, isIntegral: type.isIntegral)
    }

    /// Maps a NumPy type string ('<f4', '|u1', '>i8', '<b1') to a scalar type and byte order.
    static func scalarType(_ descr: String, source: String) throws -> (ScalarType, bigEndian: Bool) {
        let chars = Array(descr)
        let supported = "supported dtypes: bool, int8–int64, uint8–uint64, float16, float32, float64"
        guard chars.count >= 3, "<>|=".contains(chars[0]) else {
            throw NNError.invalidData(
                source: source,
                detail: "unsupported dtype '\(descr)' (structured or unknown); \(supported); convert with a.astype(numpy.float32)")
        }
        let code = String(chars[1...])
        let types: [String: ScalarType] = [
            "b1": .bool, "u1": .uint8, "i1": .int8, "u2": .uint16, "i2": .int16, "u4": .uint32, "i4": .int32,
            "u8": .uint64, "i8": .int64, "f2": .float16, "f4": .float32, "f8": .float64,
        ]
        guard let type = types[code] else {
            let names: [String: String] = ["c8": "complex64", "c16": "complex128", "f16": "float128 (long double)",
                                           "O": "object", "M8": "datetime64", "m8": "timedelta64"]
            let name = names[code] ?? (code.hasPrefix("U") || code.hasPrefix("S") ? "string" : code)
            throw NNError.invalidData(
                source: source,
                detail: "unsupported dtype '\(descr)' (\(name)); \(supported); convert with a.astype(numpy.float32)")
        }
        return (type, chars[0] == ">")
    }
}

/// The small subset of Python literal syntax that `.npy` headers use: a dict of string keys whose values are
/// strings, booleans or tuples of integers.
private struct HeaderDictionary {
    private var entries: [String: String] = [:]
    private let source: String

    init(_ text: String, source: String) throws {
        self.source = source
        let trimmed = text.trimming(" \n\0")
        guard trimmed.hasPrefix("{"), trimmed.hasSuffix("}") else {
            throw NNError.invalidData(source: source, detail: "malformed .npy header \(trimmed.debugDescription); the file is corrupt")
        }
        // Split the body at top-level commas (commas inside a shape tuple stay).
        var depth = 0
        var current = ""
        var parts: [String] = []
        for ch in trimmed.dropFirst().dropLast() {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1 }
            if ch == "," && depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        parts.append(current)
        for part in parts where !part.trimming(" ").isEmpty {
            guard let colon = part.firstIndex(of: ":") else {
                throw NNError.invalidData(source: source, detail: "malformed .npy header entry \(part.debugDescription)")
            }
            let key = part[..<colon].trimming(" '\"")
            entries[key] = part[part.index(after: colon)...].trimming(" ")
        }
    }

    private func raw(_ key: String) throws -> String {
        guard let value = entries[key] else {
            throw NNError.invalidData(source: source, detail: ".npy header lacks '\(key)'; the file is corrupt")
        }
        return value
    }

    func string(_ key: String) throws -> String {
        let value = try raw(key)
        guard value.count >= 2, let first = value.first, first == "'" || first == "\"", value.last == first else {
            throw NNError.invalidData(
                source: source,
                detail: ".npy header field '\(key)' is \(value), not a simple type string; structured dtypes are not supported")
        }
        return String(value.dropFirst().dropLast())
    }

    func bool(_ key: String) throws -> Bool {
        switch try raw(key) {
        case "True": return true
        case "False": return false
        case let other: throw NNError.invalidData(source: source, detail: ".npy header field '\(key)' is \(other), not True or False")
        }
    }

    func shape(_ key: String) throws -> [Int] {
        let value = try raw(key)
        guard value.hasPrefix("("), value.hasSuffix(")") else {
            throw NNError.invalidData(source: source, detail: ".npy header field '\(key)' is \(value), not a tuple")
        }
        return try value.dropFirst().dropLast().split(separator: ",").compactMap { item in
            let text = item.trimming(" L")
            if text.isEmpty { return nil }
            guard let n = Int(text), n >= 0 else {
                throw NNError.invalidData(source: source, detail: ".npy shape \(value) holds '\(text)', not a size")
            }
            return n
        }
    }
}

private extension StringProtocol {
    func trimming(_ set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
