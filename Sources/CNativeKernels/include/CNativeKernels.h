// Hot loops of the native backend in C, compiled once per instruction set with per-function
// `__attribute__((target(...)))`, so one binary built without -target-cpu flags carries AVX2+FMA and
// AVX-512 code and picks among them at run time (NNNative's KernelVariant). Nothing here is built
// with extra compiler flags: SwiftPM forbids unsafeFlags in a package used as a dependency.
//
// Every kernel computes each output element with the same operations in the same order as the
// Swift kernels of the same role with fused multiply-adds (acc = fma(a, b, acc) for p ascending,
// then alpha*acc, then + beta*c), so a C kernel and its Swift counterpart give the same bits.
#ifndef CNATIVEKERNELS_H
#define CNATIVEKERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Bits of nn_cpu_features().
enum {
    /// AVX2 and FMA instructions, with the OS saving YMM state.
    NN_CPU_AVX2_FMA = 1,
    /// AVX-512 F (plus AVX2 and FMA), with the OS saving ZMM and opmask state.
    NN_CPU_AVX512F = 2,
};

/// What this CPU and OS support, from CPUID and XGETBV; 0 on a non-x86-64 machine.
unsigned nn_cpu_features(void);

/// C[0..<6, 0..<16] = alpha*sum_p a[p]*b[p] (+ beta*C unless beta_is_zero), from packed panels:
/// a holds kc steps of 6 values, b kc steps of 16. AVX2+FMA; call only when nn_cpu_features()
/// has NN_CPU_AVX2_FMA.
void nn_sgemm_tile6x16_avx2(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                            float alpha, float beta, int beta_is_zero);

/// The same over 8 rows of 32 columns (a: kc steps of 8, b: kc steps of 32). AVX-512F; call only
/// when nn_cpu_features() has NN_CPU_AVX512F.
void nn_sgemm_tile8x32_avx512(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                              float alpha, float beta, int beta_is_zero);

/// A product at most `width` (4, 8 or 16) columns wide, rows [row_begin, row_end) of C:
/// C[i, 0..<columns] = alpha*sum_{p in [depth_begin, depth_end)} A(i, p)*B[p] (+ beta*C unless
/// beta_is_zero), with A(i, p) = a[i*row_stride + p*depth_stride] read in place and B[p] the p-th
/// zero-padded run of `width` values in packed_b. `full` means columns == width (one vector store).
/// AVX2+FMA.
void nn_sgemm_narrow_avx2(int width, ptrdiff_t row_begin, ptrdiff_t row_end,
                          ptrdiff_t depth_begin, ptrdiff_t depth_end,
                          const float *a, ptrdiff_t row_stride, ptrdiff_t depth_stride,
                          const float *packed_b, float *c, ptrdiff_t ldc, ptrdiff_t columns, int full,
                          float alpha, float beta, int beta_is_zero);

/// Packs rows 0..<6 of a row-major A (row r at src + r*lda), columns 0..<kc, into a GEMM panel:
/// out[p*6 + r] = src[r*lda + p]. Pure data movement. AVX2.
void nn_pack_a6_avx2(const float *src, ptrdiff_t lda, ptrdiff_t kc, float *out);

/// Adam over `count` parameters, as NNNative's Swift loop computes it (same operations and order,
/// no FMA, so the same bits): g' = g + l2·w + l1·sign(w); m = β1·m + (1−β1)·g';
/// v = β2·v + (1−β2)·g'·g'; w −= lr·(m·c1) / (√(v·c2) + ε). AVX2.
void nn_adam_avx2(ptrdiff_t count, float *w, const float *g, float *m, float *v,
                  float l2, float l1, float beta1, float beta2, float epsilon, float lr,
                  float correction1, float correction2);

/// y = x < 0 ? 0 : x over `count` floats. AVX2.
void nn_relu_forward_avx2(ptrdiff_t count, const float *x, float *y);

/// dx from the activation's output y and dy: kind 0 ReLU, 1 tanh, 2 sigmoid (see the C file). AVX2.
void nn_activation_backward_avx2(int kind, ptrdiff_t count, const float *y, const float *dy, float *dx);

/// The largest of x[0..<n] (n ≥ 1); exact for rows without NaN, whatever it returns for others (whose
/// softmax is NaN either way). AVX2.
float nn_row_max_avx2(ptrdiff_t n, const float *x);

/// y[j] = exp(x[j] − shift) for j < n, returning Σ y[j] in Double: NNNative's exponentiateRow, with
/// its exp's operations and blocked sum in the same order (no FMA), so the same bits. AVX2.
double nn_exp_row_avx2(ptrdiff_t n, const float *x, float *y, float shift);

/// y[j] *= factor for j < n. AVX2.
void nn_scale_row_avx2(ptrdiff_t n, float *y, float factor);

/// 8 independent chains of 16-lane c = c*multiplier + addend, fused, `iterations` steps each
/// (2·8·16·iterations flops); returns the chains' sum so nothing is optimised away. nnbench's peak.
float nn_fma_chains_avx2(ptrdiff_t iterations, float multiplier, float addend);
float nn_fma_chains_avx512(ptrdiff_t iterations, float multiplier, float addend);

#ifdef __cplusplus
}
#endif

#endif
