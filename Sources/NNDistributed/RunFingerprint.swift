/// What must be identical on every rank (data, settings, architecture, run state), each item as a
/// 64-bit hash, compared across ranks before the first collective that depends on them.
public struct RunFingerprint: Sendable {
    /// The named hashes added so far, in order.
    public private(set) var items: [(name: String, hash: UInt64)] = []

    /// An empty fingerprint.
    public init() {}

    /// Adds the hash of `text` under `name` (what a mismatch will be reported as).
    public mutating func add(_ name: String, _ text: String) {
        var h = Hasher64()
        h.add(bytes: Array(text.utf8))
        items.append((name, h.value))
    }

    /// Adds a hash computed elsewhere under `name`.
    public mutating func add(_ name: String, _ hash: UInt64) { items.append((name, hash)) }

    /// Throws ``DistributedError/mismatch(_:)`` on every rank when any item differs between ranks,
    /// naming the items and the ranks that differ from rank 0.
    public func check(on communicator: any Communicator) throws {
        let all = try communicator.allgather(items.map(\.hash))
        guard let reference = all.first else { return }
        var problems: [String] = []
        for (i, item) in items.enumerated() {
            let differing = all.indices.filter { all[$0].count != items.count || all[$0][i] != reference[i] }
            if !differing.isEmpty {
                problems.append("rank\(differing.count == 1 ? "" : "s") \(differing.map(String.init).joined(separator: ", ")) disagree\(differing.count == 1 ? "s" : "") with rank 0 on \(item.name)")
            }
        }
        guard problems.isEmpty else {
            throw DistributedError.mismatch(problems.joined(separator: "; ")
                + ". Every rank must run the same command on the same data (same files, same flags, same nn build); "
                + "check the mpirun command line and that each host reads identical data")
        }
    }
}

/// FNV-1a over bytes, then 64-bit words folded with a multiply-xorshift: stable across processes
/// and runs (Swift's Hasher is randomly seeded per process, so it cannot be compared across ranks).
public struct Hasher64: Sendable {
    /// The hash of everything added so far.
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    /// A hasher at its starting value.
    public init() {}

    /// Mixes in bytes.
    public mutating func add(bytes: [UInt8]) {
        for b in bytes {
            value ^= UInt64(b)
            value &*= 0x0000_0100_0000_01B3
        }
    }

    /// Mixes in one 64-bit word.
    public mutating func add(_ word: UInt64) {
        value ^= word &+ 0x9E37_79B9_7F4A_7C15 &+ (value << 6) &+ (value >> 2)
        value &*= 0xBF58_476D_1CE4_E5B9
        value ^= value >> 31
    }

    /// Mixes in the bit patterns of Float values.
    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        var i = 0
        while i + 1 < values.count {
            add(UInt64(values[i].bitPattern) | UInt64(values[i + 1].bitPattern) << 32)
            i += 2
        }
        if i < values.count { add(UInt64(values[i].bitPattern)) }
    }
}
