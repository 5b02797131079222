// AVX2+FMA GEMM micro-kernels (6×16 tile, narrow products). Intrinsics rather than plain loops,
// so the speed does not hang on what the auto-vectoriser makes of SwiftPM's C optimisation level.
// Contraction is off: a*b + c written as two intrinsics must stay two roundings, as in Swift.
#include "CNativeKernels.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#define NN_AVX2 __attribute__((target("avx2,fma")))

/// One row of a tile: dst[0..<16] = alpha*lo|hi (+ beta*dst).
NN_AVX2 static inline void store_row16(float *dst, __m256 lo, __m256 hi, __m256 alpha, __m256 beta, int beta_is_zero) {
    __m256 r0 = _mm256_mul_ps(alpha, lo), r1 = _mm256_mul_ps(alpha, hi);
    if (!beta_is_zero) {
        r0 = _mm256_add_ps(r0, _mm256_mul_ps(beta, _mm256_loadu_ps(dst)));
        r1 = _mm256_add_ps(r1, _mm256_mul_ps(beta, _mm256_loadu_ps(dst + 8)));
    }
    _mm256_storeu_ps(dst, r0);
    _mm256_storeu_ps(dst + 8, r1);
}

NN_AVX2 void nn_sgemm_tile6x16_avx2(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                    float alpha, float beta, int beta_is_zero) {
    // 12 accumulators + 2 B vectors + 1 broadcast: 15 of the 16 YMM registers.
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (ptrdiff_t p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x;
        x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
        a += 6;
        b += 16;
    }
    const __m256 av = _mm256_set1_ps(alpha), bv = _mm256_set1_ps(beta);
    store_row16(c + 0 * ldc, c00, c01, av, bv, beta_is_zero);
    store_row16(c + 1 * ldc, c10, c11, av, bv, beta_is_zero);
    store_row16(c + 2 * ldc, c20, c21, av, bv, beta_is_zero);
    store_row16(c + 3 * ldc, c30, c31, av, bv, beta_is_zero);
    store_row16(c + 4 * ldc, c40, c41, av, bv, beta_is_zero);
    store_row16(c + 5 * ldc, c50, c51, av, bv, beta_is_zero);
}

/// Finishes one narrow row from its accumulator lanes, as NNNative's NarrowStore does.
static inline void narrow_store(float *dst, const float *acc, ptrdiff_t columns, float alpha, float beta, int beta_is_zero) {
    for (ptrdiff_t j = 0; j < columns; j++) {
        const float product = alpha * acc[j];
        dst[j] = beta_is_zero ? product : product + beta * dst[j];
    }
}

/// Rows of C per register block of a narrow product: R rows × NV vectors of accumulators, plus NV B
/// vectors and a broadcast, must fit the 16 YMM registers (16-wide: 4 × 2; 8-wide: 8 × 1).
#define NN_NARROW_KERNEL(NAME, NV, R)                                                                              \
    NN_AVX2 static void NAME(ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t depth_begin, ptrdiff_t depth_end,    \
                             const float *a, ptrdiff_t rs, ptrdiff_t ds, const float *packed_b, float *c,          \
                             ptrdiff_t ldc, ptrdiff_t columns, int full, float alpha, float beta, int beta_is_zero) { \
        const __m256 av = _mm256_set1_ps(alpha), bv = _mm256_set1_ps(beta);                                      \
        ptrdiff_t i = row_begin;                                                                                   \
        for (; i < row_end; i += R) {                                                                              \
            const int rows = row_end - i < R ? (int)(row_end - i) : R;                                             \
            __m256 acc[R][NV];                                                                                     \
            for (int r = 0; r < R; r++)                                                                            \
                for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_ps();                                      \
            const float *ap = a + i * rs + depth_begin * ds;                                                       \
            if (rows == R) {                                                                                       \
                for (ptrdiff_t p = depth_begin; p < depth_end; p++) {                                              \
                    __m256 bp[NV];                                                                                 \
                    for (int v = 0; v < NV; v++) bp[v] = _mm256_loadu_ps(packed_b + p * 8 * NV + 8 * v);           \
                    for (int r = 0; r < R; r++) {                                                                  \
                        const __m256 x = _mm256_broadcast_ss(ap + r * rs);                                         \
                        for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(x, bp[v], acc[r][v]);             \
                    }                                                                                              \
                    ap += ds;                                                                                      \
                }                                                                                                  \
            } else {                                                                                               \
                for (int r = 0; r < rows; r++) {                                                                   \
                    const float *arow = ap + r * rs;                                                               \
                    for (ptrdiff_t p = depth_begin; p < depth_end; p++) {                                          \
                        const __m256 x = _mm256_broadcast_ss(arow);                                                \
                        for (int v = 0; v < NV; v++)                                                               \
                            acc[r][v] = _mm256_fmadd_ps(x, _mm256_loadu_ps(packed_b + p * 8 * NV + 8 * v), acc[r][v]); \
                        arow += ds;                                                                                \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
            for (int r = 0; r < rows; r++) {                                                                       \
                float *dst = c + (i + r) * ldc;                                                                    \
                if (full) {                                                                                        \
                    for (int v = 0; v < NV; v++) {                                                                 \
                        __m256 o = _mm256_mul_ps(av, acc[r][v]);                                                   \
                        if (!beta_is_zero) o = _mm256_add_ps(o, _mm256_mul_ps(bv, _mm256_loadu_ps(dst + 8 * v)));  \
                        _mm256_storeu_ps(dst + 8 * v, o);                                                          \
                    }                                                                                              \
                } else {                                                                                           \
                    float lanes[8 * NV];                                                                           \
                    for (int v = 0; v < NV; v++) _mm256_storeu_ps(lanes + 8 * v, acc[r][v]);                       \
                    narrow_store(dst, lanes, columns, alpha, beta, beta_is_zero);                                  \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }

NN_NARROW_KERNEL(narrow16, 2, 4)
NN_NARROW_KERNEL(narrow8, 1, 8)

NN_AVX2 static void narrow4(ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t depth_begin, ptrdiff_t depth_end,
                            const float *a, ptrdiff_t rs, ptrdiff_t ds, const float *packed_b, float *c, ptrdiff_t ldc,
                            ptrdiff_t columns, float alpha, float beta, int beta_is_zero) {
    for (ptrdiff_t i = row_begin; i < row_end; i++) {
        __m128 acc = _mm_setzero_ps();
        const float *ap = a + i * rs + depth_begin * ds;
        for (ptrdiff_t p = depth_begin; p < depth_end; p++) {
            acc = _mm_fmadd_ps(_mm_broadcast_ss(ap), _mm_loadu_ps(packed_b + p * 4), acc);
            ap += ds;
        }
        float lanes[4];
        _mm_storeu_ps(lanes, acc);
        narrow_store(c + i * ldc, lanes, columns, alpha, beta, beta_is_zero);
    }
}

NN_AVX2 void nn_sgemm_narrow_avx2(int width, ptrdiff_t row_begin, ptrdiff_t row_end,
                                  ptrdiff_t depth_begin, ptrdiff_t depth_end,
                                  const float *a, ptrdiff_t row_stride, ptrdiff_t depth_stride,
                                  const float *packed_b, float *c, ptrdiff_t ldc, ptrdiff_t columns, int full,
                                  float alpha, float beta, int beta_is_zero) {
    if (width == 4) {
        narrow4(row_begin, row_end, depth_begin, depth_end, a, row_stride, depth_stride, packed_b, c, ldc,
                columns, alpha, beta, beta_is_zero);
    } else if (width == 8) {
        narrow8(row_begin, row_end, depth_begin, depth_end, a, row_stride, depth_stride, packed_b, c, ldc,
                columns, full, alpha, beta, beta_is_zero);
    } else {
        narrow16(row_begin, row_end, depth_begin, depth_end, a, row_stride, depth_stride, packed_b, c, ldc,
                 columns, full, alpha, beta, beta_is_zero);
    }
}

/// Packs 6 rows of a row-major A (row r at src + r*lda) over kc steps into a 6-row panel:
/// out[p*6 + r] = src[r*lda + p]. 8 steps at a time through an 8×8 register transpose (rows 6 and
/// 7 zero), each column stored whole: its 2 spare lanes land where the next column is stored
/// next, and the last column of a group is stored with a mask, so nothing past the panel is written.
NN_AVX2 void nn_pack_a6_avx2(const float *src, ptrdiff_t lda, ptrdiff_t kc, float *out) {
    const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    const __m256 zero = _mm256_setzero_ps();
    ptrdiff_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        const __m256 r0 = _mm256_loadu_ps(src + p), r1 = _mm256_loadu_ps(src + lda + p);
        const __m256 r2 = _mm256_loadu_ps(src + 2 * lda + p), r3 = _mm256_loadu_ps(src + 3 * lda + p);
        const __m256 r4 = _mm256_loadu_ps(src + 4 * lda + p), r5 = _mm256_loadu_ps(src + 5 * lda + p);
        const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 s4 = _mm256_shuffle_ps(t4, zero, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, zero, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 s6 = _mm256_shuffle_ps(t5, zero, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, zero, _MM_SHUFFLE(3, 2, 3, 2));
        float *o = out + p * 6;
        _mm256_storeu_ps(o + 0, _mm256_permute2f128_ps(s0, s4, 0x20));
        _mm256_storeu_ps(o + 6, _mm256_permute2f128_ps(s1, s5, 0x20));
        _mm256_storeu_ps(o + 12, _mm256_permute2f128_ps(s2, s6, 0x20));
        _mm256_storeu_ps(o + 18, _mm256_permute2f128_ps(s3, s7, 0x20));
        _mm256_storeu_ps(o + 24, _mm256_permute2f128_ps(s0, s4, 0x31));
        _mm256_storeu_ps(o + 30, _mm256_permute2f128_ps(s1, s5, 0x31));
        _mm256_storeu_ps(o + 36, _mm256_permute2f128_ps(s2, s6, 0x31));
        _mm256_maskstore_ps(o + 42, six, _mm256_permute2f128_ps(s3, s7, 0x31));
    }
    for (; p < kc; p++) {
        for (int r = 0; r < 6; r++) out[p * 6 + r] = src[r * lda + p];
    }
}

#else
// Never called off x86-64 (nn_cpu_features() is 0 there); defined so the module links.
void nn_pack_a6_avx2(const float *src, ptrdiff_t lda, ptrdiff_t kc, float *out) {
    (void)src; (void)lda; (void)kc; (void)out;
}
void nn_sgemm_tile6x16_avx2(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                            float alpha, float beta, int beta_is_zero) {
    (void)kc; (void)a; (void)b; (void)c; (void)ldc; (void)alpha; (void)beta; (void)beta_is_zero;
}
void nn_sgemm_narrow_avx2(int width, ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t depth_begin, ptrdiff_t depth_end,
                          const float *a, ptrdiff_t row_stride, ptrdiff_t depth_stride, const float *packed_b, float *c,
                          ptrdiff_t ldc, ptrdiff_t columns, int full, float alpha, float beta, int beta_is_zero) {
    (void)width; (void)row_begin; (void)row_end; (void)depth_begin; (void)depth_end; (void)a; (void)row_stride;
    (void)depth_stride; (void)packed_b; (void)c; (void)ldc; (void)columns; (void)full; (void)alpha; (void)beta;
    (void)beta_is_zero;
}
#endif
