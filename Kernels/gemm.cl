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
// 2. gemm_vector, gemm_vector_narrow  (CPU drivers such as PoCL; details at the kernels). CPU drivers run a work-group as a loop over its
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
#ifndef MRN
#define MRN 16
#endif
#define NR (NV * VW)
#define GEMM_CAT(a, b) a##b
#define GEMM_XCAT(a, b) GEMM_CAT(a, b)
#define floatVW GEMM_XCAT(float, VW)
#define vloadVW GEMM_XCAT(vload, VW)
#define vstoreVW GEMM_XCAT(vstore, VW)

// Writes one VW-wide row segment of C: out <- alpha * acc + beta * out, only the first `width`
// columns (width < VW at the right edge of C). beta == 0 never reads C.
inline void gemm_store_segment(__global float* out, const floatVW acc, const int width,
                               const float alpha, const float beta) {
    if (width >= VW) {
        floatVW r = alpha * acc;
        if (beta != 0.0f) r = fma((floatVW)(beta), vloadVW(0, out), r);
        vstoreVW(r, 0, out);
    } else {
        float tail[VW];
        vstoreVW(acc, 0, tail);
        for (int e = 0; e < width; ++e)
            out[e] = (beta == 0.0f) ? alpha * tail[e] : fma(beta, out[e], alpha * tail[e]);
    }
}

// The general micro-kernel: an MR x NR block of C per work-item, over the whole of K. With
// panel = a + (m0 / MR) * aPanel, element op(A)[m0 + i][k] is panel[i * aRow + k * aStep], which covers
// three layouts of op(A): packed by gemm_pack_a into MR-row panels (aPanel = K * MR, aRow = 1,
// aStep = MR), A itself (aPanel = MR * K, aRow = K, aStep = 1) and A^T read in place (aPanel = MR,
// aRow = 1, aStep = M: A^T's columns already hold MR rows side by side). Rows past M are clamped on
// load and skipped on store. op(B) arrives packed by gemm_pack_b. Dimension 0 walks the column
// panels, so work-items that run one after another share op(A)'s MR x K row block (L1-resident up to
// K ~ 1000) and stream through B's panels in order.
__kernel void gemm_vector(const int M, const int N, const int K, const float alpha,
                          const __global float* restrict a, const int aPanel, const int aRow, const int aStep,
                          const __global float* restrict packedB, const float beta, __global float* c) {
    const int np = get_global_id(0), mp = get_global_id(1);
    const int m0 = mp * MR, n0 = np * NR;
    if (m0 >= M || n0 >= N) return;
    const __global float* ap = a + mp * aPanel;
    const __global float* bp = packedB + np * K * NR;
    int rowOffset[MR];
    #pragma unroll
    for (int i = 0; i < MR; ++i) rowOffset[i] = min(i, M - 1 - m0) * aRow;

    floatVW acc[MR][NV];
    #pragma unroll
    for (int i = 0; i < MR; ++i) {
        #pragma unroll
        for (int j = 0; j < NV; ++j) acc[i][j] = (floatVW)(0.0f);
    }
    for (int k = 0; k < K; ++k, ap += aStep, bp += NR) {
        floatVW bv[NV];
        #pragma unroll
        for (int j = 0; j < NV; ++j) bv[j] = vloadVW(0, bp + j * VW);
        #pragma unroll
        for (int i = 0; i < MR; ++i) {
            const floatVW av = (floatVW)(ap[rowOffset[i]]);
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
            gemm_store_segment(c + (m0 + i) * N + col, acc[i][j], N - col, alpha, beta);
        }
    }
}

// Narrow products (N <= VW, e.g. a 10-class output layer): one vector of C per row and MRN rows per
// work-item, so a 10-column C wastes 6 of 16 lanes rather than 22 of 32, and nothing is packed:
// op(A)[i][k] = a[i * aRow + k * aStep] is read in place, and op(B)'s row k is the VW floats at
// b + k * bStep (B itself when not transposed, whose lanes past N hold the next row's values and are
// never stored; else a one-panel gemm_pack_b). The full-vector load is used for k < safeK, the rows
// whose VW floats lie inside the buffer; the last few rows are read lane by lane.
__kernel void gemm_vector_narrow(const int M, const int N, const int K, const float alpha,
                                 const __global float* restrict a, const int aRow, const int aStep,
                                 const __global float* restrict b, const int bStep, const int safeK,
                                 const float beta, __global float* c) {
    const int m0 = get_global_id(0) * MRN;
    if (m0 >= M) return;
    int rowOffset[MRN];
    #pragma unroll
    for (int i = 0; i < MRN; ++i) rowOffset[i] = min(m0 + i, M - 1) * aRow;   // clamped, never stored

    floatVW acc[MRN];
    #pragma unroll
    for (int i = 0; i < MRN; ++i) acc[i] = (floatVW)(0.0f);
    int k = 0;
    for (; k < safeK; ++k) {
        const floatVW bv = vloadVW(0, b + k * bStep);
        #pragma unroll
        for (int i = 0; i < MRN; ++i) acc[i] = fma((floatVW)(a[rowOffset[i] + k * aStep]), bv, acc[i]);
    }
    for (; k < K; ++k) {
        float lanes[VW];
        for (int e = 0; e < VW; ++e) lanes[e] = e < N ? b[k * bStep + e] : 0.0f;
        const floatVW bv = vloadVW(0, lanes);
        #pragma unroll
        for (int i = 0; i < MRN; ++i) acc[i] = fma((floatVW)(a[rowOffset[i] + k * aStep]), bv, acc[i]);
    }
    #pragma unroll
    for (int i = 0; i < MRN; ++i) {
        if (m0 + i >= M) break;
        gemm_store_segment(c + (m0 + i) * N, acc[i], N, alpha, beta);
    }
}

// Packs op(A) (M x K) into panels of MR rows: packed[(p * K + k) * MR + i] = op(A)[p * MR + i][k],
// zero for rows past M. Global size (K, panels); each work-item writes one MR-float run.
__kernel void gemm_pack_a(const __global float* restrict a, const int transA, const int M, const int K,
                          __global float* restrict packed) {
    const int k = get_global_id(0), p = get_global_id(1);
    if (k >= K) return;
    __global float* out = packed + (p * K + k) * MR;
    #pragma unroll
    for (int i = 0; i < MR; ++i) {
        const int row = p * MR + i;
        out[i] = row < M ? (transA ? a[k * M + row] : a[row * K + k]) : 0.0f;
    }
}

// Packs op(B) (K x N) into panels of W columns: element (k, n) goes to
// packed[((n / W) * K + k) * W + n % W], zero for N <= n < paddedN. Global size (paddedN, K) for B,
// (K, paddedN) for B^T, so that neighbouring work-items read neighbouring floats. W is a compile-time
// constant (NR, or VW for the narrow kernel): a division by a run-time value per element would cost
// more than the copy itself.
#define GEMM_PACK_B_KERNEL(NAME, W)                                                                  \
__kernel void NAME(const __global float* restrict b, const int transB, const int N, const int K,     \
                   const int paddedN, __global float* restrict packed) {                             \
    const int n = transB ? get_global_id(1) : get_global_id(0);                                      \
    const int k = transB ? get_global_id(0) : get_global_id(1);                                      \
    if (n >= paddedN || k >= K) return;                                                              \
    float v = 0.0f;                                                                                  \
    if (n < N) v = transB ? b[n * K + k] : b[k * N + n];                                             \
    packed[((n / (W)) * K + k) * (W) + n % (W)] = v;                                                 \
}

GEMM_PACK_B_KERNEL(gemm_pack_b, NR)
GEMM_PACK_B_KERNEL(gemm_pack_b_narrow, VW)
