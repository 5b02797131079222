// AVX2 element-wise loops of the native backend: the Adam update and the activation passes.
// Swift leaves these loops scalar (its range loops over closure-captured pointers do not
// vectorise), which made the Adam update cost nearly as much as the GEMMs of a training step.
//
// Each computes exactly the operations of the Swift loop it replaces, in the same order and with
// no fused multiply-adds (contraction off, and no FMA intrinsics), and IEEE division and square
// root round the same in every lane, so every variant gives the same bits as the Swift code.
#include "CNativeKernels.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#define NN_AVX2 __attribute__((target("avx2")))

/// Lanes l < count of a partial vector; the rest read as 0 and are never stored.
NN_AVX2 static inline __m256i tail_mask(ptrdiff_t count) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lanes);
}

NN_AVX2 void nn_adam_avx2(ptrdiff_t count, float *w, const float *g, float *m, float *v,
                          float l2, float l1, float beta1, float beta2, float epsilon, float lr,
                          float correction1, float correction2) {
    const __m256 vl2 = _mm256_set1_ps(l2), vl1 = _mm256_set1_ps(l1), b1 = _mm256_set1_ps(beta1), b2 = _mm256_set1_ps(beta2);
    const __m256 one_b1 = _mm256_set1_ps(1 - beta1), one_b2 = _mm256_set1_ps(1 - beta2);
    const __m256 eps = _mm256_set1_ps(epsilon), a = _mm256_set1_ps(lr);
    const __m256 c1 = _mm256_set1_ps(correction1), c2 = _mm256_set1_ps(correction2);
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1), minus_one = _mm256_set1_ps(-1);
    for (ptrdiff_t i = 0; i < count; i += 8) {
        const ptrdiff_t left = count - i;
        const __m256i mask = tail_mask(left);
        const int full = left >= 8;
        const __m256 wi = full ? _mm256_loadu_ps(w + i) : _mm256_maskload_ps(w + i, mask);
        const __m256 gi = full ? _mm256_loadu_ps(g + i) : _mm256_maskload_ps(g + i, mask);
        const __m256 mo = full ? _mm256_loadu_ps(m + i) : _mm256_maskload_ps(m + i, mask);
        const __m256 vo = full ? _mm256_loadu_ps(v + i) : _mm256_maskload_ps(v + i, mask);
        // sign(w) with sign(0) = sign(NaN) = 0, as `w > 0 ? 1 : (w < 0 ? -1 : 0)`.
        const __m256 sign = _mm256_or_ps(_mm256_and_ps(_mm256_cmp_ps(wi, zero, _CMP_GT_OQ), one),
                                         _mm256_and_ps(_mm256_cmp_ps(wi, zero, _CMP_LT_OQ), minus_one));
        // g + l2·w + l1·sign, left to right.
        const __m256 pg = _mm256_add_ps(_mm256_add_ps(gi, _mm256_mul_ps(vl2, wi)), _mm256_mul_ps(vl1, sign));
        const __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, mo), _mm256_mul_ps(one_b1, pg));
        const __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, vo), _mm256_mul_ps(_mm256_mul_ps(one_b2, pg), pg));
        // w − (lr·(m·c1)) / (√(v·c2) + ε)
        const __m256 step = _mm256_div_ps(_mm256_mul_ps(a, _mm256_mul_ps(mi, c1)),
                                          _mm256_add_ps(_mm256_sqrt_ps(_mm256_mul_ps(vi, c2)), eps));
        const __m256 wn = _mm256_sub_ps(wi, step);
        if (full) {
            _mm256_storeu_ps(m + i, mi);
            _mm256_storeu_ps(v + i, vi);
            _mm256_storeu_ps(w + i, wn);
        } else {
            _mm256_maskstore_ps(m + i, mask, mi);
            _mm256_maskstore_ps(v + i, mask, vi);
            _mm256_maskstore_ps(w + i, mask, wn);
        }
    }
}

NN_AVX2 void nn_relu_forward_avx2(ptrdiff_t count, const float *x, float *y) {
    const __m256 zero = _mm256_setzero_ps();
    for (ptrdiff_t i = 0; i < count; i += 8) {
        const ptrdiff_t left = count - i;
        const __m256i mask = tail_mask(left);
        const __m256 xi = left >= 8 ? _mm256_loadu_ps(x + i) : _mm256_maskload_ps(x + i, mask);
        // x < 0 ? 0 : x: NaN and −0 pass through unchanged.
        const __m256 yi = _mm256_andnot_ps(_mm256_cmp_ps(xi, zero, _CMP_LT_OQ), xi);
        if (left >= 8) _mm256_storeu_ps(y + i, yi); else _mm256_maskstore_ps(y + i, mask, yi);
    }
}

/// kind 0: ReLU (y > 0 ? dy : 0); 1: tanh (dy·(1 − y·y)); 2: sigmoid (dy·(y·(1 − y))).
NN_AVX2 void nn_activation_backward_avx2(int kind, ptrdiff_t count, const float *y, const float *dy, float *dx) {
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1);
    for (ptrdiff_t i = 0; i < count; i += 8) {
        const ptrdiff_t left = count - i;
        const __m256i mask = tail_mask(left);
        const int full = left >= 8;
        const __m256 yi = full ? _mm256_loadu_ps(y + i) : _mm256_maskload_ps(y + i, mask);
        const __m256 gi = full ? _mm256_loadu_ps(dy + i) : _mm256_maskload_ps(dy + i, mask);
        __m256 r;
        switch (kind) {
        case 0: r = _mm256_and_ps(_mm256_cmp_ps(yi, zero, _CMP_GT_OQ), gi); break;
        case 1: r = _mm256_mul_ps(gi, _mm256_sub_ps(one, _mm256_mul_ps(yi, yi))); break;
        default: r = _mm256_mul_ps(gi, _mm256_mul_ps(yi, _mm256_sub_ps(one, yi))); break;
        }
        if (full) _mm256_storeu_ps(dx + i, r); else _mm256_maskstore_ps(dx + i, mask, r);
    }
}

#else
void nn_adam_avx2(ptrdiff_t count, float *w, const float *g, float *m, float *v, float l2, float l1, float beta1,
                  float beta2, float epsilon, float lr, float correction1, float correction2) {
    (void)count; (void)w; (void)g; (void)m; (void)v; (void)l2; (void)l1; (void)beta1; (void)beta2; (void)epsilon;
    (void)lr; (void)correction1; (void)correction2;
}
void nn_relu_forward_avx2(ptrdiff_t count, const float *x, float *y) { (void)count; (void)x; (void)y; }
void nn_activation_backward_avx2(int kind, ptrdiff_t count, const float *y, const float *dy, float *dx) {
    (void)kind; (void)count; (void)y; (void)dy; (void)dx;
}
#endif
