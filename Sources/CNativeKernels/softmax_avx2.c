// AVX2 loops of the native backend's softmax rows (softmax and the fused softmax cross-entropy): the
// row maximum, the exponentials with their sum, and the scaling. Baseline x86-64 Swift runs a 16-lane
// exp as four SSE vectors, spilling registers, at a little over half this speed (nnbench softmax,
// 4096×1000 on 2 threads: 9.7–10.0 GB/s, against 16.6–18.0 with these loops).
//
// nn_exp_row_avx2 computes every value with NNNative's VectorMath.exp operations in the same order
// (no fused multiply-adds: contraction off), in the same blocks of 16 × 16 floats, and adds each
// block's 16 float lanes into the Double sum in lane order as NativeScalar.wideSum does, so it gives
// the Swift loop's bits. The maximum is exact in any order, and the scaling is one multiply.
#include "CNativeKernels.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define NN_AVX2 __attribute__((target("avx2")))

/// Lanes l < count of an 8-lane vector (count may be ≤ 0 or > 8).
NN_AVX2 static inline __m256i lanes_below(ptrdiff_t count) {
    const ptrdiff_t clamped = count < 0 ? 0 : (count > 8 ? 8 : count);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)clamped), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// VectorMath.exp, 8 lanes: e^x = 2ⁿ·e^r, n = round(x·log₂e), r = x − n·ln2 (Cody–Waite), e^r by the
/// degree-7 Taylor polynomial, 2ⁿ applied in two halves; +∞ past 88.72284, 0 below −103.97208, NaN kept.
NN_AVX2 static inline __m256 exp8(const __m256 x) {
    const __m256 top = _mm256_set1_ps(88.72284f), bottom = _mm256_set1_ps(-103.97208f);
    const __m256 overflow = _mm256_cmp_ps(x, top, _CMP_GT_OQ), underflow = _mm256_cmp_ps(x, bottom, _CMP_LT_OQ);
    const __m256 xc = _mm256_blendv_ps(_mm256_blendv_ps(x, top, overflow), bottom, underflow);
    const __m256 shifter = _mm256_set1_ps(12582912.0f);
    const __m256 t = _mm256_add_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504f)), shifter);
    const __m256 n = _mm256_sub_ps(t, shifter);
    const __m256 r = _mm256_sub_ps(_mm256_sub_ps(xc, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f))),
                                   _mm256_mul_ps(n, _mm256_set1_ps(-2.1219444e-4f)));
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 720));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 120));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 24));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 6));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(0.5f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(shifter));
    const __m256i half = _mm256_srai_epi32(ni, 1), bias = _mm256_set1_epi32(127);
    const __m256 low = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
    const __m256 high = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), bias), 23));
    __m256 result = _mm256_mul_ps(_mm256_mul_ps(p, low), high);
    result = _mm256_blendv_ps(result, _mm256_set1_ps(INFINITY), overflow);
    result = _mm256_blendv_ps(result, _mm256_setzero_ps(), underflow);
    return _mm256_blendv_ps(result, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

NN_AVX2 float nn_row_max_avx2(ptrdiff_t n, const float *x) {
    float top = x[0];
    ptrdiff_t j = 0;
    if (n >= 32) {
        // Four accumulators: one maxps waits for the last, and max is exact in any order.
        __m256 a = _mm256_loadu_ps(x), b = _mm256_loadu_ps(x + 8), c = _mm256_loadu_ps(x + 16), d = _mm256_loadu_ps(x + 24);
        for (j = 32; j + 32 <= n; j += 32) {
            a = _mm256_max_ps(a, _mm256_loadu_ps(x + j));
            b = _mm256_max_ps(b, _mm256_loadu_ps(x + j + 8));
            c = _mm256_max_ps(c, _mm256_loadu_ps(x + j + 16));
            d = _mm256_max_ps(d, _mm256_loadu_ps(x + j + 24));
        }
        float lanes[8];
        _mm256_storeu_ps(lanes, _mm256_max_ps(_mm256_max_ps(a, b), _mm256_max_ps(c, d)));
        top = lanes[0];
        for (int l = 1; l < 8; ++l) if (lanes[l] > top) top = lanes[l];
    }
    for (; j < n; ++j) if (x[j] > top) top = x[j];
    return top;
}

NN_AVX2 double nn_exp_row_avx2(ptrdiff_t n, const float *x, float *y, float shift) {
    const __m256 s = _mm256_set1_ps(shift), padding = _mm256_set1_ps(-INFINITY);
    double sum = 0;
    ptrdiff_t j = 0;
    while (j < n) {
        // One block: 16 lanes (lo, hi), each adding at most 16 terms in float.
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
        const ptrdiff_t end = j + 256 < n ? j + 256 : n;
        for (; j < end; j += 16) {
            const ptrdiff_t left = end - j;
            __m256 e0, e1;
            if (left >= 16) {
                e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), s));
                e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j + 8), s));
                _mm256_storeu_ps(y + j, e0);
                _mm256_storeu_ps(y + j + 8, e1);
            } else {
                // Lanes past the row read as −∞, whose exponential 0 adds nothing.
                const __m256i m0 = lanes_below(left), m1 = lanes_below(left - 8);
                e0 = exp8(_mm256_sub_ps(_mm256_blendv_ps(padding, _mm256_maskload_ps(x + j, m0), _mm256_castsi256_ps(m0)), s));
                e1 = exp8(_mm256_sub_ps(_mm256_blendv_ps(padding, _mm256_maskload_ps(x + j + 8, m1), _mm256_castsi256_ps(m1)), s));
                _mm256_maskstore_ps(y + j, m0, e0);
                _mm256_maskstore_ps(y + j + 8, m1, e1);
            }
            lo = _mm256_add_ps(lo, e0);
            hi = _mm256_add_ps(hi, e1);
        }
        float lanes[16];
        _mm256_storeu_ps(lanes, lo);
        _mm256_storeu_ps(lanes + 8, hi);
        double block = 0;
        for (int l = 0; l < 16; ++l) block += (double)lanes[l];
        sum += block;
    }
    return sum;
}

NN_AVX2 void nn_scale_row_avx2(ptrdiff_t n, float *y, float factor) {
    const __m256 f = _mm256_set1_ps(factor);
    ptrdiff_t j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), f));
    for (; j < n; ++j) y[j] *= factor;
}

#else
float nn_row_max_avx2(ptrdiff_t n, const float *x) { (void)n; return x[0]; }
double nn_exp_row_avx2(ptrdiff_t n, const float *x, float *y, float shift) {
    (void)n; (void)x; (void)y; (void)shift;
    return 0;
}
void nn_scale_row_avx2(ptrdiff_t n, float *y, float factor) { (void)n; (void)y; (void)factor; }
#endif
