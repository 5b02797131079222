import Foundation
import NNCore

/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors), which
/// PyTorch, NumPy, JAX and candle all load:
///
///     [8-byte little-endian header length N][N bytes of JSON header][data]
///
/// The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets
/// relative to the start of the data) and may hold `"__metadata__": {string: string}`. Data is
/// little-endian and C order. Writing emits F32 and I64; reading also accepts F64, F16, BF16 and I32
/// (converted to F32 or I64), since checkpoints exported from other frameworks use them.
///
/// Reading validates everything the format promises (the header fits the file, offsets are contiguous
/// and cover the data exactly, sizes match shapes), so a truncated or corrupt file is a clear error.
public enum SafeTensors {
    /// Key of the free-form string metadata in the header.
    public static let metadataKey = "__metadata__"
    /// Headers beyond this size are treated as corrupt (the reference implementation's limit).
    static let maximumHeaderSize = 100_000_000

    // MARK: Writing

    /// The file's bytes for `tensors` and `metadata`. Tensors are laid out 8-byte types first so
    /// every tensor starts aligned to its element size (zero-copy readers rely on this).
    public static func serialize(_ tensors: [NamedTensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        var seen = Set<String>()
        for t in tensors {
            guard !t.name.isEmpty, t.name != metadataKey, seen.insert(t.name).inserted else {
                throw NNError.invalidArgument(op: "safetensors write", detail: "tensor name '\(t.name)' is empty, reserved or repeated")
            }
            let count = t.dtype == .float32 ? t.values.count : t.integers.count
            guard t.shape.allSatisfy({ $0 >= 0 }), count == t.elementCount else {
                throw NNError.invalidArgument(
                    op: "safetensors write", detail: "tensor '\(t.name)' has shape \(t.shape) but \(count) values")
            }
        }
        let ordered = tensors.filter { $0.dtype == .int64 } + tensors.filter { $0.dtype == .float32 }

        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(JSONText.quoted($0)):\(JSONText.quoted(metadata[$0]!))" }
            entries.append("\(JSONText.quoted(metadataKey)):{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        for t in ordered {
            let size = t.elementCount * (t.dtype == .float32 ? 4 : 8)
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(JSONText.quoted(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        // Pad with spaces (valid JSON whitespace) so the data starts 8-byte aligned.
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        var out = [UInt8]()
        out.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for t in ordered {
            #if _endian(little)
            switch t.dtype {
            case .float32: t.values.withUnsafeBytes { out.append(contentsOf: $0) }
            case .int64: t.integers.withUnsafeBytes { out.append(contentsOf: $0) }
            }
            #else
            switch t.dtype {
            case .float32:
                for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            case .int64:
                for v in t.integers { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
            }
            #endif
        }
        return out
    }

    /// Writes atomically (see ``AtomicFile``): a crash leaves the previous file or the new one, never a torn file.
    public static func write(_ tensors: [NamedTensor], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(serialize(tensors, metadata: metadata), to: path)
    }

    // MARK: Reading

    /// A parsed safetensors file: tensors in data order, and the metadata strings.
    public struct Contents: Sendable {
        public var tensors: [NamedTensor]
        public var metadata: [String: String]

        public func tensor(named name: String) -> NamedTensor? {
            tensors.first { $0.name == name }
        }
    }

    public static func read(path: String) throws -> Contents {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw NNError.invalidData(
                source: path, detail: exists ? "cannot be read; check its permissions" : "no such file; check the path")
        }
        return try parse([UInt8](data), source: path)
    }

    public static func parse(_ bytes: [UInt8], source: String) throws -> Contents {
        func corrupt(_ detail: String) -> NNError {
            .invalidData(source: source, detail: "not a valid safetensors file: \(detail); the file is truncated or corrupt, save it again")
        }
        guard bytes.count >= 8 else { throw corrupt("\(bytes.count) bytes, shorter than the 8-byte header length") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(maximumHeaderSize) else { throw corrupt("header length \(headerLength) is implausible") }
        let headerEnd = 8 + Int(headerLength)
        guard headerEnd <= bytes.count else {
            throw corrupt("header claims \(headerLength) bytes but the file has only \(bytes.count - 8) after the length")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw corrupt("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw corrupt("header is not a JSON object") }

        var metadata: [String: String] = [:]
        if let meta = header[metadataKey] {
            guard let strings = meta as? [String: String] else { throw corrupt("\(metadataKey) must map strings to strings") }
            metadata = strings
        }
        struct Entry { let name: String; let dtype: String; let shape: [Int]; let begin: Int; let end: Int }
        var entries: [Entry] = []
        for (name, value) in header where name != metadataKey {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeValues = info["shape"] as? [Any], let offsets = info["data_offsets"] as? [Any], offsets.count == 2 else {
                throw corrupt("entry '\(name)' lacks dtype, shape or data_offsets")
            }
            let shape = try shapeValues.map { item -> Int in
                guard let n = integer(item), n >= 0 else { throw corrupt("entry '\(name)' has a bad shape") }
                return n
            }
            guard let begin = integer(offsets[0]), let end = integer(offsets[1]), begin >= 0, end >= begin else {
                throw corrupt("entry '\(name)' has bad data_offsets")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }

        let dataStart = headerEnd
        let dataLength = bytes.count - dataStart
        var expectedOffset = 0
        var tensors: [NamedTensor] = []
        for e in entries {
            guard e.begin == expectedOffset else {
                throw corrupt("tensor '\(e.name)' starts at \(e.begin) but the previous one ends at \(expectedOffset) (offsets must be contiguous)")
            }
            guard let size = elementSize(e.dtype) else {
                throw NNError.invalidData(
                    source: source,
                    detail: "tensor '\(e.name)' has dtype \(e.dtype); supported: F32, F64, F16, BF16, I64, I32 (convert with tensor.float())")
            }
            guard let count = checkedCount(e.shape), count <= Int.max / size, e.end - e.begin == count * size else {
                throw corrupt("tensor '\(e.name)' of shape \(e.shape) and dtype \(e.dtype) does not fill its \(e.end - e.begin) bytes")
            }
            guard e.end <= dataLength else {
                throw corrupt("tensor '\(e.name)' ends at byte \(e.end) of the data but only \(dataLength) bytes follow the header")
            }
            tensors.append(decode(e.name, dtype: e.dtype, shape: e.shape, count: count, bytes: bytes, at: dataStart + e.begin))
            expectedOffset = e.end
        }
        guard expectedOffset == dataLength else {
            throw corrupt("\(dataLength - expectedOffset) bytes of data belong to no tensor")
        }
        return Contents(tensors: tensors, metadata: metadata)
    }

    // MARK: Helpers

    private static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F32", "I32": return 4
        case "F64", "I64": return 8
        case "F16", "BF16": return 2
        default: return nil
        }
    }

    private static func checkedCount(_ shape: [Int]) -> Int? {
        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            count = p
        }
        return count
    }

    private static func integer(_ value: Any) -> Int? {
        if let n = value as? Int { return n }
        if let n = value as? NSNumber, n.doubleValue == n.doubleValue.rounded() { return n.intValue }
        return nil
    }

    private static func decode(_ name: String, dtype: String, shape: [Int], count: Int, bytes: [UInt8], at start: Int) -> NamedTensor {
        bytes.withUnsafeBytes { raw -> NamedTensor in
            let base = raw.baseAddress! + start
            switch dtype {
            case "I64", "I32":
                let integers: [Int64] = (0..<count).map { i in
                    dtype == "I64"
                        ? Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                        : Int64(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                }
                return .int64(name, shape: shape, integers: integers)
            default:
                let values: [Float] = (0..<count).map { i in
                    switch dtype {
                    case "F64": return Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    case "F16": return Float(float16Bits: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    case "BF16": return Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                    default: return Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                }
                return .float32(name, shape: shape, values: values)
            }
        }
    }
}
