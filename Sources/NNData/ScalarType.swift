/// Element types that IDX and NumPy files store, and their conversion to Float.
enum ScalarType: String, Sendable, CaseIterable {
    case bool, uint8, int8, uint16, int16, uint32, int32, uint64, int64, float16, float32, float64

    var byteSize: Int {
        switch self {
        case .bool, .uint8, .int8: return 1
        case .uint16, .int16, .float16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        }
    }

    var isIntegral: Bool {
        switch self {
        case .float16, .float32, .float64: return false
        default: return true
        }
    }

    /// Decodes `count` elements starting at `offset`. The caller has checked that the bytes exist.
    func decode(_ bytes: [UInt8], offset: Int, count: Int, bigEndian: Bool) -> [Float] {
        if count == 0 { return [] }
        if self == .uint8 || self == .bool {
            return bytes[offset..<(offset + count)].map { Float($0) }
        }
        if self == .int8 {
            return bytes[offset..<(offset + count)].map { Float(Int8(bitPattern: $0)) }
        }
        var result = [Float](repeating: 0, count: count)
        let size = byteSize
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + offset
            result.withUnsafeMutableBufferPointer { out in
                for i in 0..<count {
                    let p = base + i * size
                    out[i] = element(at: p, bigEndian: bigEndian)
                }
            }
        }
        return result
    }

    @inline(__always)
    private func element(at p: UnsafeRawPointer, bigEndian: Bool) -> Float {
        @inline(__always) func load<T: FixedWidthInteger>(_: T.Type) -> T {
            let v = p.loadUnaligned(as: T.self)
            return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
        }
        switch self {
        case .uint16: return Float(load(UInt16.self))
        case .int16: return Float(load(Int16.self))
        case .uint32: return Float(load(UInt32.self))
        case .int32: return Float(load(Int32.self))
        case .uint64: return Float(load(UInt64.self))
        case .int64: return Float(load(Int64.self))
        case .float16: return Float(halfBits: load(UInt16.self))
        case .float32: return Float(bitPattern: load(UInt32.self))
        case .float64: return Float(Double(bitPattern: load(UInt64.self)))
        case .bool, .uint8: return Float(p.load(as: UInt8.self))
        case .int8: return Float(p.load(as: Int8.self))
        }
    }
}

extension Float {
    /// IEEE 754 binary16 to binary32, written out so it works on every platform (Swift's `Float16`
    /// is unavailable on some x86 targets).
    init(halfBits h: UInt16) {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int(h >> 10) & 0x1F
        var mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            if mantissa == 0 { self = Float(bitPattern: sign); return }
            // Subnormal half: normalise into a float32 exponent.
            var e = -1
            repeat { e += 1; mantissa <<= 1 } while mantissa & 0x400 == 0
            mantissa &= 0x3FF
            self = Float(bitPattern: sign | UInt32(127 - 15 - e) << 23 | mantissa << 13)
        case 0x1F:
            self = Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            self = Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
        }
    }
}
