/// Loads and stores of whole or partial vectors at unaligned addresses, so that one vector loop
/// body also handles a row's tail (the partial chunk is padded with `padding` on load and only
/// its first `count` lanes are stored).
extension SIMD {
    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Scalar>, count: Int, padding: Scalar) -> Self {
        if count >= scalarCount { return UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
        var v = Self(repeating: padding)
        for l in 0..<count { v[l] = p[l] }
        return v
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Scalar>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }

    @inline(__always)
    func store(to p: UnsafeMutablePointer<Scalar>, count: Int) {
        if count >= scalarCount {
            UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
            return
        }
        for l in 0..<count { p[l] = self[l] }
    }

    @inline(__always)
    func store(to p: UnsafeMutablePointer<Scalar>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
}
