import CNativeKernels

/// The C micro-kernels of ``KernelVariant`` `.avx2` and `.avx512`, as ``TileKernel``s and a narrow
/// kernel, so the Goto loop nest in Gemm.swift drives them exactly as it drives the Swift tiles.
/// Each sums like the Swift kernel of its shape with ``Fused``, so it gives the same bits.

/// 6 rows × 16 columns on AVX2+FMA: the shape of Swift's vector256 tile.
enum CTile6x16AVX2: TileKernel {
    typealias Scalar = Float
    typealias Arithmetic = Fused
    static var mr: Int { 6 }
    static var nr: Int { 16 }

    @inline(__always)
    static func run(kc: Int, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>,
                    c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float, betaIsZero: Bool) {
        nn_sgemm_tile6x16_avx2(kc, a, b, c, ldc, alpha, beta, betaIsZero ? 1 : 0)
    }
}

/// 8 rows × 32 columns on AVX-512F: the shape of Swift's vector512 tile.
enum CTile8x32AVX512: TileKernel {
    typealias Scalar = Float
    typealias Arithmetic = Fused
    static var mr: Int { 8 }
    static var nr: Int { 32 }

    @inline(__always)
    static func run(kc: Int, a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>,
                    c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float, betaIsZero: Bool) {
        nn_sgemm_tile8x32_avx512(kc, a, b, c, ldc, alpha, beta, betaIsZero ? 1 : 0)
    }
}

/// ``NarrowKernel`` with ``Fused`` for Float on AVX2+FMA (also what the AVX-512 variant runs: a
/// product this narrow is bound by reading A, not by vector width).
enum CNarrowKernel {
    /// C[rows, 0..<columns] from packed B runs of `width` (4, 8 or 16) Floats; see ``NarrowKernel``
    /// and ``NarrowStore`` for the roles of the arguments.
    @inline(__always)
    static func run(width: Int, rows: Range<Int>, depth: Range<Int>, a: UnsafeMutablePointer<Float>, rowStride: Int,
                    depthStride: Int, packedB: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
                    columns: Int, alpha: Float, beta: Float, betaIsZero: Bool) {
        nn_sgemm_narrow_avx2(Int32(width), rows.lowerBound, rows.upperBound, depth.lowerBound, depth.upperBound,
                             a, rowStride, depthStride, packedB, c, ldc, columns, columns == width ? 1 : 0,
                             alpha, beta, betaIsZero ? 1 : 0)
    }
}

/// Packing of op(A) = A (not transposed) into 6-row panels for ``CTile6x16AVX2``: the Swift path
/// for this shape is a scalar strided transpose, which cost as much as 10 % of a small GEMM.
enum CPackA6 {
    /// out[p·6 + r] = src[r·lda + p] for r < 6, p < kc. T must be Float (the caller checks).
    @inline(__always)
    static func pack<T>(from src: UnsafeMutablePointer<T>, lda: Int, kc: Int, to out: UnsafeMutablePointer<T>) {
        nn_pack_a6_avx2(UnsafeMutableRawPointer(src).assumingMemoryBound(to: Float.self), lda, kc,
                        UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self))
    }
}
