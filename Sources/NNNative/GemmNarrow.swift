/// The micro-kernel for products at most one vector wide (n ≤ `V.scalarCount`): an output layer of
/// 10 classes and its gradients. Each of 8 rows of C is one vector accumulator; every step of p
/// loads one packed B vector and broadcasts 8 values of op(A) read in place (8 streams along rows
/// of A, or one contiguous run when A is transposed).
///
/// Sums run as in the tiles (`Arithmetic.apply` from zero, p ascending within the KC slice), and
/// ``NarrowStore`` finishes them as ``TileStore`` does, so both paths give the same bits.
enum NarrowKernel<V: SIMD, Arithmetic: MultiplyAdd> where V.Scalar: NativeScalar {
    typealias Scalar = V.Scalar

    /// Rows of C per register block; thread stripes are multiples of it.
    static var rows: Int { 8 }

    /// C[rows, 0..<n] ← α·Σ_{p ∈ depth} op(A)[i, p]·B[p] + β·C, with op(A)[i, p] =
    /// a[i·rowStride + p·depthStride] and B[p] the packed vector for depth p.
    @inline(never)
    static func run(rows: Range<Int>, depth: Range<Int>, a: UnsafeMutablePointer<Scalar>, rowStride: Int, depthStride: Int,
                    packedB: UnsafeMutablePointer<V>, store: NarrowStore<V>) {
        let r1 = rowStride, r2 = 2 * rowStride, r3 = 3 * rowStride, r4 = 4 * rowStride
        let r5 = 5 * rowStride, r6 = 6 * rowStride, r7 = 7 * rowStride
        var i = rows.lowerBound
        while i + 8 <= rows.upperBound {
            var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V(), c6 = V(), c7 = V()
            var ap = a + i * rowStride + depth.lowerBound * depthStride
            for p in depth {
                let bv = packedB[p]
                c0 = Arithmetic.apply(c0, V(repeating: ap[0]), bv)
                c1 = Arithmetic.apply(c1, V(repeating: ap[r1]), bv)
                c2 = Arithmetic.apply(c2, V(repeating: ap[r2]), bv)
                c3 = Arithmetic.apply(c3, V(repeating: ap[r3]), bv)
                c4 = Arithmetic.apply(c4, V(repeating: ap[r4]), bv)
                c5 = Arithmetic.apply(c5, V(repeating: ap[r5]), bv)
                c6 = Arithmetic.apply(c6, V(repeating: ap[r6]), bv)
                c7 = Arithmetic.apply(c7, V(repeating: ap[r7]), bv)
                ap += depthStride
            }
            store.row(i, c0); store.row(i + 1, c1); store.row(i + 2, c2); store.row(i + 3, c3)
            store.row(i + 4, c4); store.row(i + 5, c5); store.row(i + 6, c6); store.row(i + 7, c7)
            i += 8
        }
        while i < rows.upperBound {
            var acc = V()
            var ap = a + i * rowStride + depth.lowerBound * depthStride
            for p in depth {
                acc = Arithmetic.apply(acc, V(repeating: ap[0]), packedB[p])
                ap += depthStride
            }
            store.row(i, acc)
            i += 1
        }
    }
}

/// Writes one row of a narrow product: C ← α·acc (+ β·C unless β is zero) over the first
/// `columns` lanes, with one vector store when the row is exactly one vector.
struct NarrowStore<V: SIMD> where V.Scalar: NativeScalar {
    let c: UnsafeMutablePointer<V.Scalar>
    let ldc: Int
    let columns: Int
    let full: Bool
    let alpha: V.Scalar, beta: V.Scalar
    let betaIsZero: Bool

    @inline(__always)
    func row(_ i: Int, _ acc: V) {
        let dst = c + i * ldc
        if full {
            var r = V(repeating: alpha) * acc
            if !betaIsZero { r = r + V(repeating: beta) * UnsafeRawPointer(dst).loadUnaligned(as: V.self) }
            UnsafeMutableRawPointer(dst).storeBytes(of: r, as: V.self)
            return
        }
        for j in 0..<columns {
            let product = alpha * acc[j]
            dst[j] = betaIsZero ? product : product + beta * dst[j]
        }
    }
}
