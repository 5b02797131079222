// GEMM: C <- alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T, any M, N, K >= 1.
//
// Two kernel families share this file; the host picks one per device and sets every tile size with
// -D (CLBlast style: each size an #ifndef default), so a tuner can change them without editing code.
//
// 1. gemm_tiled_*  (GPUs). A work-group computes an MWG x NWG tile of C, walking k in steps of KWG;
//    each step stages an MWG x KWG tile of op(A) and a KWG x NWG tile of op(B) in local memory,
//    k-major, with guarded loads (out-of-range elements read as 0). The work-group is NDIMC x MDIMC
//    work-items (dimension 0 along n); each keeps an MWI x NWI register block of C. Work-item
//    (tn, tm) owns rows tm*MWI + i and the strided columns tn + j*NDIMC, so neighbouring work-items
//    read neighbouring B elements and write neighbouring C elements (coalesced, bank-conflict free).
//
// 2. gemm_vector_*  (CPU drivers such as PoCL). CPU drivers run a work-group as a loop over its
//    work-items and keep values that live across a barrier in memory, which defeats register
//    blocking in family 1 (measured ~20 GFLOP/s on PoCL, against ~100 for this one). Here each
//    work-item is a BLAS-style micro-kernel: an MR x NR (NR = NV*VW) block of C held in NV float-VW
//    vectors per row, one vector load of op(B) and MR broadcasts of op(A) per k. op(B) is first packed
//    by gemm_pack_b into panels of NR columns, each panel K x NR contiguous and zero-padded past N, so
//    the micro-kernel streams through memory in order: a row-major B with a power-of-two row length
//    would otherwise map every k of a panel to the same cache set (n = 1024: ~30 against ~90 GFLOP/s).
//    Rows past M are clamped on load and skipped on store.
//
// beta == 0 overwrites C without reading it, so NaNs in C's old contents do not leak through.

// ---------------------------------------------------------------------------------------------
// Family 1: local-memory tiles.

#ifndef MWG
#define MWG 64
#endif
#ifndef NWG
#define NWG 64
#endif
#ifndef KWG
#define KWG 16
#endif
#ifndef MDIMC
#define MDIMC 16
#endif
#ifndef NDIMC
#define NDIMC 16
#endif

#define MWI (MWG / MDIMC)
#define NWI (NWG / NDIMC)
#define WG_ITEMS (MDIMC * NDIMC)

// Stages op(A)[m0 .. m0+MWG, k0 .. k0+KWG] into As[kk][r]. The linear order of the copy follows the
// contiguous dimension of A in memory so that consecutive work-items read consecutive addresses.
inline void gemm_stage_a(__local float* As, const __global float* a, const int transA,
                         const int M, const int K, const int m0, const int k0, const int tid) {
    #pragma unroll
    for (int e = 0; e < (MWG * KWG) / WG_ITEMS; ++e) {
        const int idx = tid + e * WG_ITEMS;
        int r, kk;
        if (transA) { r = idx % MWG; kk = idx / MWG; }   // A is K x M: contiguous along m
        else        { kk = idx % KWG; r = idx / KWG; }   // A is M x K: contiguous along k
        const int gm = m0 + r, gk = k0 + kk;
        float v = 0.0f;
        if (gm < M && gk < K) v = transA ? a[gk * M + gm] : a[gm * K + gk];
        As[kk * MWG + r] = v;
    }
}

// Stages op(B)[k0 .. k0+KWG, n0 .. n0+NWG] into Bs[kk][c].
inline void gemm_stage_b(__local float* Bs, const __global float* b, const int transB,
                         const int N, const int K, const int n0, const int k0, const int tid) {
    #pragma unroll
    for (int e = 0; e < (KWG * NWG) / WG_ITEMS; ++e) {
        const int idx = tid + e * WG_ITEMS;
        int c, kk;
        if (transB) { kk = idx % KWG; c = idx / KWG; }   // B is N x K: contiguous along k
        else        { c = idx % NWG; kk = idx / NWG; }   // B is K x N: contiguous along n
        const int gn = n0 + c, gk = k0 + kk;
        float v = 0.0f;
        if (gn < N && gk < K) v = transB ? b[gn * K + gk] : b[gk * N + gn];
        Bs[kk * NWG + c] = v;
    }
}

inline void gemm_tiled_body(const int M, const int N, const int K, const float alpha,
                      const __global float* restrict a, const __global float* restrict b,
                      const float beta, __global float* c,
                      const int transA, const int transB,
                      __local float* As, __local float* Bs) {
    const int tn = get_local_id(0);
    const int tm = get_local_id(1);
    const int tid = tm * NDIMC + tn;
    const int n0 = get_group_id(0) * NWG;
    const int m0 = get_group_id(1) * MWG;

    float acc[MWI][NWI];
    #pragma unroll
    for (int i = 0; i < MWI; ++i) {
        #pragma unroll
        for (int j = 0; j < NWI; ++j) acc[i][j] = 0.0f;
    }

    for (int k0 = 0; k0 < K; k0 += KWG) {
        gemm_stage_a(As, a, transA, M, K, m0, k0, tid);
        gemm_stage_b(Bs, b, transB, N, K, n0, k0, tid);
        barrier(CLK_LOCAL_MEM_FENCE);

        #pragma unroll
        for (int kk = 0; kk < KWG; ++kk) {
            float av[MWI], bv[NWI];
            #pragma unroll
            for (int i = 0; i < MWI; ++i) av[i] = As[kk * MWG + tm * MWI + i];
            #pragma unroll
            for (int j = 0; j < NWI; ++j) bv[j] = Bs[kk * NWG + tn + j * NDIMC];
            #pragma unroll
            for (int i = 0; i < MWI; ++i) {
                #pragma unroll
                for (int j = 0; j < NWI; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    #pragma unroll
    for (int i = 0; i < MWI; ++i) {
        const int gm = m0 + tm * MWI + i;
        if (gm >= M) continue;
        #pragma unroll
        for (int j = 0; j < NWI; ++j) {
            const int gn = n0 + tn + j * NDIMC;
            if (gn >= N) continue;
            __global float* out = c + gm * N + gn;
            // beta == 0 overwrites: C's old contents (possibly NaN) must not leak through.
            *out = (beta == 0.0f) ? alpha * acc[i][j] : fma(beta, *out, alpha * acc[i][j]);
        }
    }
}

#define GEMM_TILED_KERNEL(NAME, TA, TB)                                                              \
__kernel __attribute__((reqd_work_group_size(NDIMC, MDIMC, 1)))                               \
void NAME(const int M, const int N, const int K, const float alpha,                           \
          const __global float* restrict a, const __global float* restrict b,                 \
          const float beta, __global float* c) {                                              \
    __local float As[KWG * MWG];                                                               \
    __local float Bs[KWG * NWG];                                                               \
    gemm_tiled_body(M, N, K, alpha, a, b, beta, c, TA, TB, As, Bs);                                  \
}

GEMM_TILED_KERNEL(gemm_tiled_nn, 0, 0)
GEMM_TILED_KERNEL(gemm_tiled_nt, 0, 1)
GEMM_TILED_KERNEL(gemm_tiled_tn, 1, 0)
GEMM_TILED_KERNEL(gemm_tiled_tt, 1, 1)

// ---------------------------------------------------------------------------------------------
// Family 2: explicit-vector micro-kernels.

#ifndef MR
#define MR 8
#endif
#ifndef VW
#define VW 16
#endif
#ifndef NV
#define NV 2
#endif
#define NR (NV * VW)
#define GEMM_CAT(a, b) a##b
#define GEMM_XCAT(a, b) GEMM_CAT(a, b)
#define floatVW GEMM_XCAT(float, VW)
#define vloadVW GEMM_XCAT(vload, VW)
#define vstoreVW GEMM_XCAT(vstore, VW)

inline void gemm_vector_body(const int M, const int N, const int K, const float alpha,
                             const __global float* restrict a, const int transA,
                             const __global float* restrict packedB,
                             const float beta, __global float* c) {
    const int n0 = get_global_id(0) * NR;
    const int m0 = get_global_id(1) * MR;
    if (n0 >= N || m0 >= M) return;

    int rowOffset[MR], rowStride;
    #pragma unroll
    for (int i = 0; i < MR; ++i) {
        const int row = min(m0 + i, M - 1);        // clamped: rows past M compute garbage, never stored
        rowOffset[i] = transA ? row : row * K;
    }
    rowStride = transA ? M : 1;                   // distance between op(A)[i][k] and op(A)[i][k+1]

    floatVW acc[MR][NV];
    #pragma unroll
    for (int i = 0; i < MR; ++i) {
        #pragma unroll
        for (int j = 0; j < NV; ++j) acc[i][j] = (floatVW)(0.0f);
    }

    const __global float* bRow = packedB + get_global_id(0) * K * NR;   // this work-item's panel
    for (int k = 0; k < K; ++k, bRow += NR) {
        floatVW bv[NV];
        #pragma unroll
        for (int j = 0; j < NV; ++j) bv[j] = vloadVW(0, bRow + j * VW);
        #pragma unroll
        for (int i = 0; i < MR; ++i) {
            const floatVW av = (floatVW)(a[rowOffset[i] + k * rowStride]);
            #pragma unroll
            for (int j = 0; j < NV; ++j) acc[i][j] = fma(av, bv[j], acc[i][j]);
        }
    }

    #pragma unroll
    for (int i = 0; i < MR; ++i) {
        if (m0 + i >= M) break;
        #pragma unroll
        for (int j = 0; j < NV; ++j) {
            const int col = n0 + j * VW;
            if (col >= N) break;
            __global float* out = c + (m0 + i) * N + col;
            if (col + VW <= N) {
                floatVW r = alpha * acc[i][j];
                if (beta != 0.0f) r = fma((floatVW)(beta), vloadVW(0, out), r);
                vstoreVW(r, 0, out);
            } else {
                float tail[VW];
                vstoreVW(acc[i][j], 0, tail);
                for (int e = 0; e < N - col; ++e)
                    out[e] = (beta == 0.0f) ? alpha * tail[e] : fma(beta, out[e], alpha * tail[e]);
            }
        }
    }
}

__kernel void gemm_vector_n(const int M, const int N, const int K, const float alpha,
                            const __global float* restrict a, const __global float* restrict packedB,
                            const float beta, __global float* c) {
    gemm_vector_body(M, N, K, alpha, a, 0, packedB, beta, c);
}

__kernel void gemm_vector_t(const int M, const int N, const int K, const float alpha,
                            const __global float* restrict a, const __global float* restrict packedB,
                            const float beta, __global float* c) {
    gemm_vector_body(M, N, K, alpha, a, 1, packedB, beta, c);
}

// Packs op(B) (K x N) into panels of NR columns: element (k, n) goes to
// packed[((n / NR) * K + k) * NR + n % NR], zero for N <= n < paddedN. Global size (paddedN, K).
__kernel void gemm_pack_b(const __global float* restrict b, const int transB, const int N, const int K,
                          const int paddedN, __global float* restrict packed) {
    const int n = get_global_id(0);
    const int k = get_global_id(1);
    if (n >= paddedN || k >= K) return;
    float v = 0.0f;
    if (n < N) v = transB ? b[n * K + k] : b[k * N + n];
    packed[((n / NR) * K + k) * NR + n % NR] = v;
}
