// nnbench's FMA-peak probe per instruction set: the peak a variant's kernels can reach, measured
// in a build whose Swift code has no FMA (there a Swift fused multiply-add is a libm call per lane).
#include "CNativeKernels.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

// 8 chains of 16 lanes, as nnbench's Swift probe: on AVX2 run as two passes of 8 YMM chains
// (16 accumulators would not leave registers for the operands); 8 in flight cover FMA latency × pipes.
__attribute__((target("avx2,fma")))
float nn_fma_chains_avx2(ptrdiff_t iterations, float multiplier, float addend) {
    const __m256 a = _mm256_set1_ps(multiplier), b = _mm256_set1_ps(addend);
    float total = 0;
    for (int half = 0; half < 2; half++) {
        __m256 c0 = _mm256_set1_ps(0.0f + half), c1 = _mm256_set1_ps(0.1f + half), c2 = _mm256_set1_ps(0.2f + half);
        __m256 c3 = _mm256_set1_ps(0.3f + half), c4 = _mm256_set1_ps(0.4f + half), c5 = _mm256_set1_ps(0.5f + half);
        __m256 c6 = _mm256_set1_ps(0.6f + half), c7 = _mm256_set1_ps(0.7f + half);
        for (ptrdiff_t i = 0; i < iterations; i++) {
            c0 = _mm256_fmadd_ps(c0, a, b); c1 = _mm256_fmadd_ps(c1, a, b); c2 = _mm256_fmadd_ps(c2, a, b);
            c3 = _mm256_fmadd_ps(c3, a, b); c4 = _mm256_fmadd_ps(c4, a, b); c5 = _mm256_fmadd_ps(c5, a, b);
            c6 = _mm256_fmadd_ps(c6, a, b); c7 = _mm256_fmadd_ps(c7, a, b);
        }
        __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                                 _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
        float lanes[8];
        _mm256_storeu_ps(lanes, s);
        for (int l = 0; l < 8; l++) total += lanes[l];
    }
    return total;
}

__attribute__((target("avx512f,avx2,fma")))
float nn_fma_chains_avx512(ptrdiff_t iterations, float multiplier, float addend) {
    const __m512 a = _mm512_set1_ps(multiplier), b = _mm512_set1_ps(addend);
    __m512 c0 = _mm512_set1_ps(0.0f), c1 = _mm512_set1_ps(0.1f), c2 = _mm512_set1_ps(0.2f), c3 = _mm512_set1_ps(0.3f);
    __m512 c4 = _mm512_set1_ps(0.4f), c5 = _mm512_set1_ps(0.5f), c6 = _mm512_set1_ps(0.6f), c7 = _mm512_set1_ps(0.7f);
    for (ptrdiff_t i = 0; i < iterations; i++) {
        c0 = _mm512_fmadd_ps(c0, a, b); c1 = _mm512_fmadd_ps(c1, a, b); c2 = _mm512_fmadd_ps(c2, a, b);
        c3 = _mm512_fmadd_ps(c3, a, b); c4 = _mm512_fmadd_ps(c4, a, b); c5 = _mm512_fmadd_ps(c5, a, b);
        c6 = _mm512_fmadd_ps(c6, a, b); c7 = _mm512_fmadd_ps(c7, a, b);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                                              _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7))));
}
#else
float nn_fma_chains_avx2(ptrdiff_t iterations, float multiplier, float addend) {
    (void)iterations; (void)multiplier; (void)addend;
    return 0;
}
float nn_fma_chains_avx512(ptrdiff_t iterations, float multiplier, float addend) {
    (void)iterations; (void)multiplier; (void)addend;
    return 0;
}
#endif
