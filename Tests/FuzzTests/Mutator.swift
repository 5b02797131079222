import Foundation

/// Seeded mutations of a valid file, in the spirit of libFuzzer's and AFL's mutators: byte-level
/// damage (bit flips, interesting bytes and integers, cuts, inserts, repeats, splices) and, for text,
/// token-level damage (numbers swapped for extremes, quotes and brackets dropped or repeated).
///
/// The same seed gives the same mutants on every machine, so a failure names a reproducible input.
struct Mutator {
    private var state: UInt64

    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    /// SplitMix64: tiny, fast and good enough to pick mutations.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    /// Integers that sit on the edges parsers get wrong: signs, widths, overflow points.
    static let interestingIntegers: [UInt64] = [
        0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x4000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, .max, 1 << 40, 1 << 31 + 1,
    ]

    /// Number spellings that break naive conversions: overflow, NaN, infinities, negatives, fractions.
    static let interestingNumbers = [
        "0", "-0", "-1", "1e300", "-1e300", "1e-300", "NaN", "nan", "Infinity", "-Infinity", "inf",
        "2147483648", "4294967296", "4611686018427387904", "9223372036854775807", "9223372036854775808",
        "18446744073709551616", "1000000000000", "0.5", "1e9", "3.4e38", "-2147483649",
    ]

    /// How a format is laid out, so mutations reach past its first checks.
    enum Layout {
        case binary
        case text
        /// safetensors: the JSON header (with the JSON-in-strings metadata) is mutated as text and its
        /// length field kept right most of the time, so the damage reaches the checkpoint's validation.
        case safetensors
    }

    /// One to four stacked mutations of `input`.
    mutating func mutate(_ input: [UInt8], layout: Layout) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            switch layout {
            case .binary: bytes = mutateBytes(bytes)
            case .text: bytes = below(2) == 0 ? mutateText(bytes) : mutateBytes(bytes)
            case .safetensors: bytes = below(5) == 0 ? mutateBytes(bytes) : mutateSafeTensorsHeader(bytes)
            }
        }
        return bytes
    }

    private mutating func mutateSafeTensorsHeader(_ input: [UInt8]) -> [UInt8] {
        guard input.count >= 8 else { return mutateBytes(input) }
        let length = input[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(input.count - 8) else { return mutateBytes(input) }
        let header = Array(input[8..<8 + Int(length)])
        let data = Array(input[(8 + Int(length))...])
        let mutated = mutateText(header)
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(mutated.count).littleEndian) { out.append(contentsOf: $0) }
        return out + mutated + data
    }

    private mutating func mutateBytes(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        if bytes.isEmpty { return [UInt8(truncatingIfNeeded: next())] }
        let at = below(bytes.count)
        switch below(9) {
        case 0:
            bytes[at] ^= 1 << UInt8(below(8))
        case 1:
            bytes[at] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0x20, 0x22, 0x7B][below(8)]
        case 2:  // an interesting integer over 1, 2, 4 or 8 bytes, either byte order
            let value = Self.interestingIntegers[below(Self.interestingIntegers.count)]
            let width = [1, 2, 4, 8][below(4)]
            let bigEndian = below(2) == 0
            for k in 0..<width where at + k < bytes.count {
                let shift = UInt64(8 * (bigEndian ? width - 1 - k : k))
                bytes[at + k] = UInt8(truncatingIfNeeded: value >> shift)
            }
        case 3:  // cut the tail
            bytes.removeSubrange(at...)
        case 4:  // remove a chunk
            bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(64)))
        case 5:  // insert random bytes
            bytes.insert(contentsOf: (0...below(16)).map { _ in UInt8(truncatingIfNeeded: next()) }, at: at)
        case 6:  // repeat a chunk many times (stress for quadratic code and size fields)
            let chunk = Array(bytes[at..<min(bytes.count, at + 1 + below(32))])
            let copies = [2, 16, 256, 4096][below(4)]
            guard bytes.count + chunk.count * copies <= Self.maximumMutantSize else { return bytes }
            bytes.insert(contentsOf: Self.repeated(chunk, copies), at: at)
        case 7:  // copy one region over another
            let from = below(bytes.count)
            let length = min(1 + below(32), bytes.count - from, bytes.count - at)
            bytes.replaceSubrange(at..<at + length, with: bytes[from..<from + length])
        default:  // append junk
            bytes += (0...below(64)).map { _ in UInt8(truncatingIfNeeded: next()) }
        }
        return bytes
    }

    /// Text mutations look for their target from a random position onwards (wrapping once) rather
    /// than listing every candidate, so a mutant grown to megabytes costs no more to mutate again.
    private mutating func mutateText(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        guard !bytes.isEmpty else { return mutateBytes(bytes) }
        let isNumberByte: (UInt8) -> Bool = { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E || $0 == 0x65 || $0 == 0x2B }
        switch below(4) {
        case 0, 1:  // swap a number for an extreme one
            guard var start = find(in: bytes, where: { $0 >= 0x30 && $0 <= 0x39 }) else { return mutateBytes(bytes) }
            while start > 0, isNumberByte(bytes[start - 1]) { start -= 1 }
            var end = start
            while end < bytes.count, isNumberByte(bytes[end]) { end += 1 }
            let number = Self.interestingNumbers[below(Self.interestingNumbers.count)]
            bytes.replaceSubrange(start..<end, with: Array(number.utf8))
        case 2:  // drop or double a structural character
            let structural: Set<UInt8> = [0x22, 0x2C, 0x28, 0x29, 0x5B, 0x5D, 0x7B, 0x7D, 0x3A, 0x0A]
            guard let at = find(in: bytes, where: { structural.contains($0) }) else { return mutateBytes(bytes) }
            if below(2) == 0 { bytes.remove(at: at) } else { bytes.insert(bytes[at], at: at) }
        default:  // repeat a line or a list item many times
            let isSeparator: (UInt8) -> Bool = { $0 == 0x0A || $0 == 0x2C }
            guard let first = find(in: bytes, where: isSeparator),
                  let second = bytes[(first + 1)...].firstIndex(where: isSeparator) else { return mutateBytes(bytes) }
            let chunk = Array(bytes[first..<second])
            let copies = [2, 64, 1024, 20000][below(4)]
            guard bytes.count + chunk.count * copies <= Self.maximumMutantSize else { return mutateBytes(bytes) }
            bytes.insert(contentsOf: Self.repeated(chunk, copies), at: second)
        }
        return bytes
    }

    /// `copies` copies of `chunk` back to back, by memory copies (element-wise appends of megabytes
    /// would dominate an unoptimised test build).
    static func repeated(_ chunk: [UInt8], _ copies: Int) -> [UInt8] {
        guard !chunk.isEmpty, copies > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: chunk.count * copies) { buffer, count in
            chunk.withUnsafeBufferPointer { source in
                for k in 0..<copies {
                    (buffer.baseAddress! + k * chunk.count).initialize(from: source.baseAddress!, count: chunk.count)
                }
            }
            count = chunk.count * copies
        }
    }

    /// Mutants stay below this size; beyond it a repeat does not test anything new.
    static let maximumMutantSize = 4 << 20

    /// The first index at or after a random position (wrapping around) whose byte matches.
    private mutating func find(in bytes: [UInt8], where matches: (UInt8) -> Bool) -> Int? {
        let from = below(bytes.count)
        return bytes[from...].firstIndex(where: matches) ?? bytes[..<from].firstIndex(where: matches)
    }
}
