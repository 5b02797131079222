// AVX-512F GEMM micro-kernel: 8 rows × 2 ZMM vectors (8×32 floats), the shape of NNNative's
// vector512 tile. Selected only when nn_cpu_features() reports AVX-512F; the project's build
// machine lacks it, so this path compiles everywhere but runs only on AVX-512 hardware.
#include "CNativeKernels.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#define NN_AVX512 __attribute__((target("avx512f,avx2,fma")))

NN_AVX512 static inline void store_row32(float *dst, __m512 lo, __m512 hi, __m512 alpha, __m512 beta, int beta_is_zero) {
    __m512 r0 = _mm512_mul_ps(alpha, lo), r1 = _mm512_mul_ps(alpha, hi);
    if (!beta_is_zero) {
        r0 = _mm512_add_ps(r0, _mm512_mul_ps(beta, _mm512_loadu_ps(dst)));
        r1 = _mm512_add_ps(r1, _mm512_mul_ps(beta, _mm512_loadu_ps(dst + 16)));
    }
    _mm512_storeu_ps(dst, r0);
    _mm512_storeu_ps(dst + 16, r1);
}

NN_AVX512 void nn_sgemm_tile8x32_avx512(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                        float alpha, float beta, int beta_is_zero) {
    __m512 acc[8][2];
    for (int r = 0; r < 8; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    for (ptrdiff_t p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        for (int r = 0; r < 8; r++) {
            const __m512 x = _mm512_set1_ps(a[r]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
        }
        a += 8;
        b += 32;
    }
    const __m512 av = _mm512_set1_ps(alpha), bv = _mm512_set1_ps(beta);
    for (int r = 0; r < 8; r++) store_row32(c + r * ldc, acc[r][0], acc[r][1], av, bv, beta_is_zero);
}

#else
void nn_sgemm_tile8x32_avx512(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                              float alpha, float beta, int beta_is_zero) {
    (void)kc; (void)a; (void)b; (void)c; (void)ldc; (void)alpha; (void)beta; (void)beta_is_zero;
}
#endif
