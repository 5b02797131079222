// GEMM: C <- alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T, any M, N, K >= 1.
//
// Two kernel families share this file; the host picks one per device and sets every tile size with
// -D (CLBlast style: each size an #ifndef default), so a tuner can change them without editing code.
//
// 1. gemm_tiled_*  (GPUs). A work-group computes an MWG x NWG tile of C, walking its k range in steps
//    of KWG. Each step stages an MWG x KWG tile of op(A) and a KWG x NWG tile of op(B) in local memory,
//    k-major (As[k][m], Bs[k][n]), each row padded by PADA / PADB floats so that the transposing
//    stores below do not pile onto one bank. The work-group is NDIMC x MDIMC work-items (dimension 0
//    along n); each keeps an MWI x NWI register block of C (MWI = MWG/MDIMC, NWI = NWG/NDIMC) and
//    reads it from local memory as VWM- and VWN-wide vectors.
//
//    Transposes are handled by the loads, never by a separate pass: every operand is read from
//    global memory in VWM- (for A) or VWN-wide (for B) vectors along its contiguous dimension
//    (k for A and B^T, m for A^T, n for B), consecutive work-items on consecutive vectors, so each
//    of the four op(A)/op(B) combinations reads coalesced. A vector that runs along k is scattered
//    into VW rows of the k-major tile on the way in (that is where the padding matters); one that runs
//    along m or n is stored whole. Vector loads need aligned rows, so they are used when the leading
//    dimension is a multiple of the width (one test per launch) and the vector lies inside the
//    matrix; elsewhere, and at every edge, lanes are read one by one and out-of-range lanes read as 0,
//    which is what makes any M, N, K >= 1 correct without padding the operands. A tile wholly inside
//    an aligned operand, every tile of most products, skips those tests (CLBlast pads the operands
//    instead): the test is per work-group, so the branch never diverges, and the group's vector loads
//    issue back to back.
//
//    DBUF=1 double-buffers the k steps: the next tile is loaded from global memory into registers
//    before the current one is multiplied, so the loads' latency hides behind the arithmetic, and
//    is stored into the other of two local buffers afterwards, which needs one barrier per step
//    instead of two. DBUF=0 halves the local memory (a larger tile may then fit, or more
//    work-groups per compute unit).
//
//    STRM / STRN choose which rows / columns of the tile a work-item owns: 0 = a contiguous block of
//    MWI (NWI), 1 = VWM- (VWN-) wide vectors strided by MDIMC*VWM (NDIMC*VWN), so neighbouring
//    work-items read neighbouring local vectors (no bank conflicts) and write neighbouring C vectors
//    (coalesced). KWI unrolls the inner k loop in groups of KWI steps.
//
//    Split K (the small-m path): for products whose C has too few tiles to occupy a GPU, e.g.
//    (256 x 784)·(784 x 512) has 8 tiles of 128 x 128 for 100+ compute units, the host cuts k into
//    kPerSplit-long ranges, a whole number of KWG steps each. Dimension 1 of the grid then counts
//    (split, m tile) pairs; each work-group writes its partial product to its own M x N slice of a
//    scratch buffer (alpha = 1, beta = 0), and gemm_splitk_reduce sums the slices in a fixed order
//    and applies alpha and beta. No atomics, so the result is deterministic.
//
//    Fused epilogue: a dense layer's forward, C = act(alpha * op(A) * op(B) + bias), adds the bias
//    row and applies the ReLU as C is stored (or in gemm_splitk_reduce), instead of two more passes
//    over C; the `epilogue` argument says which (0 for a plain GEMM).
//
//    Why a rework of the first tiled kernel (64 x 64 tiles, 4 x 4 scalars per work-item) rather than
//    a third family: that kernel is one point of this one's space (VWM = VWN = 1, STRN = 1,
//    PADA = PADB = 0, DBUF = 0, KWI = 1), so keeping both would duplicate code and tuning for nothing.
//
//    Defaults (128 x 128 tiles, 16 x 16 work-items with 8 x 8 outputs each, KWG = 16, float4 loads,
//    strided n, PADA = PADB = 4, one-barrier double buffering) follow the shape of the fastest
//    published SGEMMs on recent NVIDIA and AMD GPUs; GemmTuning.gpuSquareDefault on the host carries
//    the reasoning, and GemmTuning.gpuSkinnyDefault that of the small-C default (64 x 64, split K).
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
//
// A program holds the family GEMM_FAMILY names (the host sets it with the tile sizes): a tuning
// launches one family only, and a GPU driver compiles every kernel of a program, which for the
// autotuner's candidates is time out of its budget. Left unset, both families are built.

#define GEMM_FAMILY_TILED 1
#define GEMM_FAMILY_VECTOR 2
#ifndef GEMM_FAMILY
#define GEMM_FAMILY 0
#endif

#if GEMM_FAMILY != GEMM_FAMILY_VECTOR
// ---------------------------------------------------------------------------------------------
// Family 1: local-memory tiles with register blocks.

#ifndef MWG
#define MWG 128
#endif
#ifndef NWG
#define NWG 128
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
#ifndef VWM
#define VWM 4
#endif
#ifndef VWN
#define VWN 4
#endif
#ifndef STRM
#define STRM 0
#endif
#ifndef STRN
#define STRN 1
#endif
#ifndef PADA
#define PADA 4
#endif
#ifndef PADB
#define PADB 4
#endif
#ifndef DBUF
#define DBUF 1
#endif
#ifndef KWI
#define KWI 2
#endif

#define MWI (MWG / MDIMC)
#define NWI (NWG / NDIMC)
#define MVI (MWI / VWM)
#define NVI (NWI / VWN)
#define WG_ITEMS (MDIMC * NDIMC)
#define ASTRIDE (MWG + PADA)
#define BSTRIDE (NWG + PADB)
// One local buffer of each operand, in floats, rounded up to whole vectors so that a second buffer
// (DBUF) starts vector-aligned too.
#define ABUF (((KWG * ASTRIDE + VWM - 1) / VWM) * VWM)
#define BBUF (((KWG * BSTRIDE + VWN - 1) / VWN) * VWN)
// Vectors of op(A) and op(B) each work-item moves per k step.
#define LPTA ((MWG * KWG) / (VWM * WG_ITEMS))
#define LPTB ((KWG * NWG) / (VWN * WG_ITEMS))

#define TG_CAT(a, b) a##b
#define TG_XCAT(a, b) TG_CAT(a, b)
#if VWM == 1
typedef float realM;
#define vloadM(i, p) ((p)[i])
#define vstoreM(v, i, p) ((p)[i] = (v))
#else
typedef TG_XCAT(float, VWM) realM;
#define vloadM TG_XCAT(vload, VWM)
#define vstoreM TG_XCAT(vstore, VWM)
#endif
#if VWN == 1
typedef float realN;
#define vloadN(i, p) ((p)[i])
#define vstoreN(v, i, p) ((p)[i] = (v))
#else
typedef TG_XCAT(float, VWN) realN;
#define vloadN TG_XCAT(vload, VWN)
#define vstoreN TG_XCAT(vstore, VWN)
#endif

// Local-memory vectors: a typed access where the row stride keeps every vector aligned (so the
// compiler can emit one wide load), vload/vstore (legal at any float alignment) where padding breaks it.
#if ASTRIDE % VWM == 0
#define LOAD_LOCAL_M(p) (*(const __local realM*)(p))
#define STORE_LOCAL_M(v, p) (*(__local realM*)(p) = (v))
#else
#define LOAD_LOCAL_M(p) vloadM(0, p)
#define STORE_LOCAL_M(v, p) vstoreM(v, 0, p)
#endif
#if BSTRIDE % VWN == 0
#define LOAD_LOCAL_N(p) (*(const __local realN*)(p))
#define STORE_LOCAL_N(v, p) (*(__local realN*)(p) = (v))
#else
#define LOAD_LOCAL_N(p) vloadN(0, p)
#define STORE_LOCAL_N(v, p) vstoreN(v, 0, p)
#endif

// Reads `valid` (0 ... VWM) consecutive floats at p as one VWM vector, zero past them. `aligned` says
// that p is a whole number of vectors into an aligned buffer, so a full vector may be one wide load.
NN_INLINE realM tg_global_m(const __global float* p, const int valid, const bool aligned) {
    if (valid >= VWM && aligned) return *(const __global realM*)p;
    float lanes[VWM];
    #pragma unroll
    for (int l = 0; l < VWM; ++l) lanes[l] = l < valid ? p[l] : 0.0f;
    return vloadM(0, lanes);
}

NN_INLINE realN tg_global_n(const __global float* p, const int valid, const bool aligned) {
    if (valid >= VWN && aligned) return *(const __global realN*)p;
    float lanes[VWN];
    #pragma unroll
    for (int l = 0; l < VWN; ++l) lanes[l] = l < valid ? p[l] : 0.0f;
    return vloadN(0, lanes);
}

// op(A)[m0 .. m0+MWG, k0 .. k0+KWG] into registers, VWM-wide along A's contiguous dimension; elements
// past M or past kEnd (the end of K, or of this work-group's split) read as 0. `interior` (see
// tg_k_steps) skips those tests.
NN_INLINE void tg_load_a(realM* ra, const __global float* a, const int transA, const int M, const int K,
                         const int m0, const int k0, const int kEnd, const int tid, const bool interior) {
    #pragma unroll
    for (int e = 0; e < LPTA; ++e) {
        const int idx = tid + e * WG_ITEMS;
        if (transA) {   // A is K x M: vectors along m
            const int rv = idx % (MWG / VWM), kk = idx / (MWG / VWM);
            const int gm = m0 + rv * VWM, gk = k0 + kk;
            if (interior) {
                ra[e] = *(const __global realM*)(a + gk * M + gm);
            } else {
                const int valid = gk < kEnd ? min(VWM, M - gm) : 0;
                ra[e] = tg_global_m(a + (valid > 0 ? gk * M + gm : 0), valid, M % VWM == 0);
            }
        } else {        // A is M x K: vectors along k
            const int kv = idx % (KWG / VWM), r = idx / (KWG / VWM);
            const int gm = m0 + r, gk = k0 + kv * VWM;
            if (interior) {
                ra[e] = *(const __global realM*)(a + gm * K + gk);
            } else {
                const int valid = gm < M ? min(VWM, kEnd - gk) : 0;
                ra[e] = tg_global_m(a + (valid > 0 ? gm * K + gk : 0), valid, K % VWM == 0);
            }
        }
    }
}

// op(B)[k0 .. k0+KWG, n0 .. n0+NWG] into registers, VWN-wide along B's contiguous dimension.
NN_INLINE void tg_load_b(realN* rb, const __global float* b, const int transB, const int N, const int K,
                         const int n0, const int k0, const int kEnd, const int tid, const bool interior) {
    #pragma unroll
    for (int e = 0; e < LPTB; ++e) {
        const int idx = tid + e * WG_ITEMS;
        if (transB) {   // B is N x K: vectors along k
            const int kv = idx % (KWG / VWN), c = idx / (KWG / VWN);
            const int gn = n0 + c, gk = k0 + kv * VWN;
            if (interior) {
                rb[e] = *(const __global realN*)(b + gn * K + gk);
            } else {
                const int valid = gn < N ? min(VWN, kEnd - gk) : 0;
                rb[e] = tg_global_n(b + (valid > 0 ? gn * K + gk : 0), valid, K % VWN == 0);
            }
        } else {        // B is K x N: vectors along n
            const int cv = idx % (NWG / VWN), kk = idx / (NWG / VWN);
            const int gn = n0 + cv * VWN, gk = k0 + kk;
            if (interior) {
                rb[e] = *(const __global realN*)(b + gk * N + gn);
            } else {
                const int valid = gk < kEnd ? min(VWN, N - gn) : 0;
                rb[e] = tg_global_n(b + (valid > 0 ? gk * N + gn : 0), valid, N % VWN == 0);
            }
        }
    }
}

// Registers into the k-major local tiles; vectors along k are scattered over VW rows.
NN_INLINE void tg_store_a(__local float* As, const realM* ra, const int transA, const int tid) {
    #pragma unroll
    for (int e = 0; e < LPTA; ++e) {
        const int idx = tid + e * WG_ITEMS;
        if (transA) {
            const int rv = idx % (MWG / VWM), kk = idx / (MWG / VWM);
            STORE_LOCAL_M(ra[e], As + kk * ASTRIDE + rv * VWM);
        } else {
            const int kv = idx % (KWG / VWM), r = idx / (KWG / VWM);
            float lanes[VWM];
            vstoreM(ra[e], 0, lanes);
            #pragma unroll
            for (int l = 0; l < VWM; ++l) As[(kv * VWM + l) * ASTRIDE + r] = lanes[l];
        }
    }
}

NN_INLINE void tg_store_b(__local float* Bs, const realN* rb, const int transB, const int tid) {
    #pragma unroll
    for (int e = 0; e < LPTB; ++e) {
        const int idx = tid + e * WG_ITEMS;
        if (transB) {
            const int kv = idx % (KWG / VWN), c = idx / (KWG / VWN);
            float lanes[VWN];
            vstoreN(rb[e], 0, lanes);
            #pragma unroll
            for (int l = 0; l < VWN; ++l) Bs[(kv * VWN + l) * BSTRIDE + c] = lanes[l];
        } else {
            const int cv = idx % (NWG / VWN), kk = idx / (NWG / VWN);
            STORE_LOCAL_N(rb[e], Bs + kk * BSTRIDE + cv * VWN);
        }
    }
}

// First row (column) of the tile held by a work-item's iv-th (jv-th) vector.
#if STRM
#define TG_ROW(tm, iv) (((iv) * MDIMC + (tm)) * VWM)
#else
#define TG_ROW(tm, iv) (((tm) * MVI + (iv)) * VWM)
#endif
#if STRN
#define TG_COL(tn, jv) (((jv) * NDIMC + (tn)) * VWN)
#else
#define TG_COL(tn, jv) (((tn) * NVI + (jv)) * VWN)
#endif

// acc += the KWG steps of the staged tiles.
NN_INLINE void tg_multiply(realN acc[MWI][NVI], const __local float* As, const __local float* Bs,
                           const int tm, const int tn) {
    for (int k0 = 0; k0 < KWG; k0 += KWI) {
        #pragma unroll
        for (int u = 0; u < KWI; ++u) {
            const int kk = k0 + u;
            float av[MWI];
            realN bv[NVI];
            #pragma unroll
            for (int iv = 0; iv < MVI; ++iv) vstoreM(LOAD_LOCAL_M(As + kk * ASTRIDE + TG_ROW(tm, iv)), 0, av + iv * VWM);
            #pragma unroll
            for (int jv = 0; jv < NVI; ++jv) bv[jv] = LOAD_LOCAL_N(Bs + kk * BSTRIDE + TG_COL(tn, jv));
            #pragma unroll
            for (int i = 0; i < MWI; ++i) {
                #pragma unroll
                for (int jv = 0; jv < NVI; ++jv) acc[i][jv] = fma((realN)(av[i]), bv[jv], acc[i][jv]);
            }
        }
    }
}

// acc += op(A)[m0 .., kBegin .. kEnd] * op(B)[kBegin .. kEnd, n0 ..], KWG at a time through the local
// tiles. `interior` (see tg_body) makes every load one wide load with no test. The body is
// specialised for each value of it, rather than testing per step or per operand: LLVM's AMDGPU back
// end then issues a step's loads back to back, where the tests' branches around each load (or a
// fast path per operand) made it wait for each load to arrive before issuing the next (s_waitcnt
// vmcnt(0)), and two paths in one loop cost the skinny default an occupancy level on CDNA2.
NN_INLINE void tg_k_steps(realN acc[MWI][NVI], const __global float* a, const __global float* b,
                          const int transA, const int transB, const int M, const int N, const int K,
                          const int m0, const int n0, const int kBegin, const int kEnd,
                          const int tid, const int tm, const int tn, __local float* As, __local float* Bs,
                          const bool interior) {
    realM ra[LPTA];
    realN rb[LPTB];
#if DBUF
    tg_load_a(ra, a, transA, M, K, m0, kBegin, kEnd, tid, interior);
    tg_load_b(rb, b, transB, N, K, n0, kBegin, kEnd, tid, interior);
    tg_store_a(As, ra, transA, tid);
    tg_store_b(Bs, rb, transB, tid);
    barrier(CLK_LOCAL_MEM_FENCE);
    int current = 0;
    for (int k0 = kBegin; k0 < kEnd; k0 += KWG) {
        const int next = k0 + KWG;
        const bool more = next < kEnd;
        if (more) {
            tg_load_a(ra, a, transA, M, K, m0, next, kEnd, tid, interior);
            tg_load_b(rb, b, transB, N, K, n0, next, kEnd, tid, interior);
        }
        tg_multiply(acc, As + current * ABUF, Bs + current * BBUF, tm, tn);
        // Writing the other buffer is safe without a barrier first: every work-item finished reading
        // it before the barrier that ended the previous step.
        if (more) {
            tg_store_a(As + (1 - current) * ABUF, ra, transA, tid);
            tg_store_b(Bs + (1 - current) * BBUF, rb, transB, tid);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        current = 1 - current;
    }
#else
    for (int k0 = kBegin; k0 < kEnd; k0 += KWG) {
        tg_load_a(ra, a, transA, M, K, m0, k0, kEnd, tid, interior);
        tg_load_b(rb, b, transB, N, K, n0, k0, kEnd, tid, interior);
        tg_store_a(As, ra, transA, tid);
        tg_store_b(Bs, rb, transB, tid);
        barrier(CLK_LOCAL_MEM_FENCE);
        tg_multiply(acc, As, Bs, tm, tn);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
#endif
}

// The fused epilogue of a dense layer's forward: bit 0 adds bias[column], bit 1 applies a ReLU (the
// same x < 0 ? 0 : x as relu_forward, which keeps a NaN), both after alpha and beta, as the separate
// ops would.
#define EPILOGUE_BIAS 1
#define EPILOGUE_RELU 2
#if VWN == 1
#define TG_RELU(r) ((r) < 0.0f ? 0.0f : (r))
#else
#define TG_RELU(r) select((r), (realN)(0.0f), (r) < (realN)(0.0f))
#endif

// No restrict here: the kernels' own parameters carry it into the inlined body, and restrict on an
// inlined helper's parameters makes LLVM emit llvm.experimental.noalias.scope.decl, which Oclgrind
// (scripts/oclgrind-check.sh) cannot run.
NN_INLINE void tg_body(const int M, const int N, const int K, const float alpha,
                       const __global float* a, const __global float* b,
                       const float beta, __global float* c, const int kPerSplit,
                       const __global float* bias, const int epilogue,
                       const int transA, const int transB, __local float* As, __local float* Bs) {
    const int tn = get_local_id(0);
    const int tm = get_local_id(1);
    const int tid = tm * NDIMC + tn;
    const int mGroups = (M + MWG - 1) / MWG;
    const int split = get_group_id(1) / mGroups;
    const int n0 = get_group_id(0) * NWG;
    const int m0 = (get_group_id(1) - split * mGroups) * MWG;
    const int kBegin = split * kPerSplit;
    const int kEnd = min(K, kBegin + kPerSplit);
    // A split writes its own M x N slice of the scratch buffer c (the host passes alpha = 1, beta = 0).
    c += split * M * N;

    realN acc[MWI][NVI];
    #pragma unroll
    for (int i = 0; i < MWI; ++i) {
        #pragma unroll
        for (int jv = 0; jv < NVI; ++jv) acc[i][jv] = (realN)(0.0f);
    }

    // Whether every k step's tiles lie wholly inside op(A) and op(B), with aligned vectors: this
    // group's rows and columns lie inside, and its k range is whole steps (true for every group of
    // most products). The same for the whole work-group, so the branch never diverges.
    const bool interior = m0 + MWG <= M && n0 + NWG <= N && (transA ? M : K) % VWM == 0 && (transB ? K : N) % VWN == 0
        && (kEnd - kBegin) % KWG == 0;
    if (interior) {
        tg_k_steps(acc, a, b, transA, transB, M, N, K, m0, n0, kBegin, kEnd, tid, tm, tn, As, Bs, true);
    } else {
        tg_k_steps(acc, a, b, transA, transB, M, N, K, m0, n0, kBegin, kEnd, tid, tm, tn, As, Bs, false);
    }

    const bool alignedC = N % VWN == 0;
    #pragma unroll
    for (int i = 0; i < MWI; ++i) {
        const int gm = m0 + TG_ROW(tm, i / VWM) + i % VWM;
        if (gm >= M) continue;
        #pragma unroll
        for (int jv = 0; jv < NVI; ++jv) {
            const int gn = n0 + TG_COL(tn, jv);
            if (gn >= N) continue;
            __global float* out = c + gm * N + gn;
            realN r = alpha * acc[i][jv];
            if (gn + VWN <= N && alignedC) {
                // beta == 0 overwrites: C's old contents (possibly NaN) must not leak through.
                if (beta != 0.0f) r = fma((realN)(beta), *(__global realN*)out, r);
                if (epilogue & EPILOGUE_BIAS) r += *(const __global realN*)(bias + gn);   // aligned: VWN divides gn
                if (epilogue & EPILOGUE_RELU) r = TG_RELU(r);
                *(__global realN*)out = r;
            } else {
                float lanes[VWN];
                vstoreN(r, 0, lanes);
                for (int l = 0; l < VWN && gn + l < N; ++l) {
                    float v = (beta == 0.0f) ? lanes[l] : fma(beta, out[l], lanes[l]);
                    if (epilogue & EPILOGUE_BIAS) v += bias[gn + l];
                    if (epilogue & EPILOGUE_RELU) v = v < 0.0f ? 0.0f : v;
                    out[l] = v;
                }
            }
        }
    }
}

#define GEMM_TILED_KERNEL(NAME, TA, TB)                                                              \
__kernel __attribute__((reqd_work_group_size(NDIMC, MDIMC, 1)))                                     \
void NAME(const int M, const int N, const int K, const float alpha,                                 \
          const __global float* restrict a, const __global float* restrict b,                       \
          const float beta, __global float* c, const int kPerSplit,                                 \
          const __global float* restrict bias, const int epilogue) {                                \
    __local realM As[(DBUF + 1) * ABUF / VWM];                                                       \
    __local realN Bs[(DBUF + 1) * BBUF / VWN];                                                       \
    tg_body(M, N, K, alpha, a, b, beta, c, kPerSplit, bias, epilogue, TA, TB,                        \
            (__local float*)As, (__local float*)Bs);                                                 \
}

GEMM_TILED_KERNEL(gemm_tiled_nn, 0, 0)
GEMM_TILED_KERNEL(gemm_tiled_nt, 0, 1)
GEMM_TILED_KERNEL(gemm_tiled_tn, 1, 0)
GEMM_TILED_KERNEL(gemm_tiled_tt, 1, 1)

// Sums the split-K slices (count = M*N floats each) in order, then applies alpha, beta and the
// epilogue (N columns, for the bias).
__kernel void gemm_splitk_reduce(const int count, const int splits, const float alpha,
                                 const __global float* restrict partials, const float beta, __global float* c,
                                 const int N, const __global float* restrict bias, const int epilogue) {
    const int i = get_global_id(0);
    if (i >= count) return;
    // Four slices' loads at once, not one round trip to memory per slice: past the last slice the
    // index is clamped and the value not added, so the sum keeps its order.
    float sum = 0.0f;
    for (int s = 0; s < splits; s += 4) {
        float slice[4];
        #pragma unroll
        for (int u = 0; u < 4; ++u) slice[u] = partials[min(s + u, splits - 1) * count + i];
        #pragma unroll
        for (int u = 0; u < 4; ++u) sum = s + u < splits ? sum + slice[u] : sum;
    }
    float v = (beta == 0.0f) ? alpha * sum : fma(beta, c[i], alpha * sum);
    if (epilogue & EPILOGUE_BIAS) v += bias[i % N];
    if (epilogue & EPILOGUE_RELU) v = v < 0.0f ? 0.0f : v;
    c[i] = v;
}

#endif  // family 1

#if GEMM_FAMILY != GEMM_FAMILY_TILED
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
NN_INLINE void gemm_store_segment(__global float* out, const floatVW acc, const int width,
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

#endif  // family 2
