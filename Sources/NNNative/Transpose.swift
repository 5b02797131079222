/// Transposing copies for GEMM packing: a panel whose source runs along the other dimension
/// (rows of a non-transposed A, columns of a transposed B) is built 8×8 block at a time in
/// registers, by three rounds of even/odd unzips, instead of one strided scalar store per element.
enum Transpose {
    /// dst[p·destinationStride + r] = src[r·sourceStride + p] for r < 8 and p < depth.
    static func blocks<T: NativeScalar>(from src: UnsafeMutablePointer<T>, sourceStride: Int, depth: Int,
                                        to dst: UnsafeMutablePointer<T>, destinationStride: Int) {
        var p = 0
        while p + 8 <= depth {
            let s = UnsafeRawPointer(src + p)
            let rowBytes = sourceStride * MemoryLayout<T>.stride
            var v0 = s.loadUnaligned(as: SIMD8<T>.self)
            var v1 = s.loadUnaligned(fromByteOffset: rowBytes, as: SIMD8<T>.self)
            var v2 = s.loadUnaligned(fromByteOffset: 2 * rowBytes, as: SIMD8<T>.self)
            var v3 = s.loadUnaligned(fromByteOffset: 3 * rowBytes, as: SIMD8<T>.self)
            var v4 = s.loadUnaligned(fromByteOffset: 4 * rowBytes, as: SIMD8<T>.self)
            var v5 = s.loadUnaligned(fromByteOffset: 5 * rowBytes, as: SIMD8<T>.self)
            var v6 = s.loadUnaligned(fromByteOffset: 6 * rowBytes, as: SIMD8<T>.self)
            var v7 = s.loadUnaligned(fromByteOffset: 7 * rowBytes, as: SIMD8<T>.self)
            // Element (r, c) sits at bit string [r₂r₁r₀ | c₂c₁c₀] of the 64 values; unzipping vectors
            // (2i, 2i+1) into i (evens) and i+4 (odds) rotates that string right by one bit, so three
            // rounds move (r, c) to [c | r]: vector c now holds column c.
            for _ in 0..<3 {
                (v0, v4, v1, v5, v2, v6, v3, v7) = (unzipEven(v0, v1), unzipOdd(v0, v1), unzipEven(v2, v3), unzipOdd(v2, v3),
                                                    unzipEven(v4, v5), unzipOdd(v4, v5), unzipEven(v6, v7), unzipOdd(v6, v7))
            }
            let d = UnsafeMutableRawPointer(dst + p * destinationStride)
            let lineBytes = destinationStride * MemoryLayout<T>.stride
            d.storeBytes(of: v0, as: SIMD8<T>.self)
            d.storeBytes(of: v1, toByteOffset: lineBytes, as: SIMD8<T>.self)
            d.storeBytes(of: v2, toByteOffset: 2 * lineBytes, as: SIMD8<T>.self)
            d.storeBytes(of: v3, toByteOffset: 3 * lineBytes, as: SIMD8<T>.self)
            d.storeBytes(of: v4, toByteOffset: 4 * lineBytes, as: SIMD8<T>.self)
            d.storeBytes(of: v5, toByteOffset: 5 * lineBytes, as: SIMD8<T>.self)
            d.storeBytes(of: v6, toByteOffset: 6 * lineBytes, as: SIMD8<T>.self)
            d.storeBytes(of: v7, toByteOffset: 7 * lineBytes, as: SIMD8<T>.self)
            p += 8
        }
        scalar(from: src, sourceStride: sourceStride, lines: 8, depth: p..<depth, to: dst, destinationStride: destinationStride)
    }

    /// dst[p·destinationStride + r] = src[r·sourceStride + p] for r < lines and p in depth.
    static func scalar<T: NativeScalar>(from src: UnsafeMutablePointer<T>, sourceStride: Int, lines: Int, depth: Range<Int>,
                                        to dst: UnsafeMutablePointer<T>, destinationStride: Int) {
        for r in 0..<lines {
            let line = src + r * sourceStride
            for p in depth { dst[p * destinationStride + r] = line[p] }
        }
    }

    @inline(__always)
    private static func unzipEven<T: NativeScalar>(_ a: SIMD8<T>, _ b: SIMD8<T>) -> SIMD8<T> {
        SIMD16(lowHalf: a, highHalf: b).evenHalf
    }

    @inline(__always)
    private static func unzipOdd<T: NativeScalar>(_ a: SIMD8<T>, _ b: SIMD8<T>) -> SIMD8<T> {
        SIMD16(lowHalf: a, highHalf: b).oddHalf
    }
}
