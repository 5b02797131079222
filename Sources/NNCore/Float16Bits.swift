extension Float {
    /// IEEE 754 binary16 bits to Float, portable to platforms without Swift's `Float16`.
    public init(float16Bits h: UInt16) {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int(h >> 10) & 0x1F
        var mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            if mantissa == 0 { self = Float(bitPattern: sign); return }
            var shift = 0
            while mantissa & 0x400 == 0 { mantissa <<= 1; shift += 1 }
            mantissa &= 0x3FF
            self = Float(bitPattern: sign | UInt32(127 - 14 - shift) << 23 | mantissa << 13)
        case 0x1F:
            self = Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            self = Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
        }
    }
}
