// Row-wise classifier heads. Three shapes: argmax_rows (every device) and the CPU softmax kernels
// at the end of the file are as before; softmax_rows and softmax_xent below are the GPU shape.
// argmax_rows: a work-group of (L, R) work-items serves R rows with L items per row
// (L * R == ROW_WG_ITEMS; the host uses (64, 1) for wide rows and (4, 16) for narrow ones, so a CPU
// driver compiles two variants at most). Each item strides over its row, then the row's items combine
// their values pairwise in local memory. Rows past m still take part in the barriers, idly.

#ifndef ROW_WG_ITEMS
#define ROW_WG_ITEMS 64
#endif

// ---------------------------------------------------------------------------------------------
// Softmax and softmax cross-entropy for GPUs: a work-group of (L, R) items serves R rows with L
// items per row (L a power of two, L * R <= GPU_ROW_ITEMS; the host takes L just large enough that
// ROW_CACHE float4 per item cover the row, so a 1000-wide row is 64 items and a 10-wide one 4).
// Rows whose length is a multiple of 4 are read as float4 (aligned, since every row then starts on
// a 16-byte boundary); item lx takes vectors lx, lx + L, ... so each load instruction of a row's items
// is contiguous. The first ROW_CACHE vectors of each item stay in registers from the statistics to the
// output, so a row up to 16 L floats is read from memory once; longer rows re-read the rest.
// Each item's (max, sum of exp(x - max)) is combined across the row in one local-memory tree
// (softmax_combine), then every element is exp(x - max) / sum with the row's max: the same
// max-shifted formula as the CPU kernels, whatever the row length.

#ifndef GPU_ROW_ITEMS
#define GPU_ROW_ITEMS 256
#endif
#ifndef ROW_CACHE
#define ROW_CACHE 4
#endif

NN_INLINE float hmax4(const float4 v) { return fmax(fmax(v.x, v.y), fmax(v.z, v.w)); }
NN_INLINE float hsum4(const float4 v) { return (v.x + v.y) + (v.z + v.w); }

// Two partial softmax denominators (max, sum of exp(x - max)) as one. An item that saw no element,
// or only -inf, has sum 0 and must not turn the other's sum into NaN through exp(-inf - -inf).
NN_INLINE float2 softmax_combine(const float2 a, const float2 b) {
    if (b.y == 0.0f) return a;
    if (a.y == 0.0f) return b;
    const float mx = fmax(a.x, b.x);
    return (float2)(mx, a.y * exp(a.x - mx) + b.y * exp(b.x - mx));
}

// Combines one pair per item across the L items of each row; every item of the row gets the result.
NN_INLINE float2 row_tree_softmax(__local float2* scratch, const float2 v) {
    const int L = get_local_size(0), lx = get_local_id(0), base = get_local_id(1) * L;
    scratch[base + lx] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = L / 2; s > 0; s >>= 1) {
        if (lx < s) scratch[base + lx] = softmax_combine(scratch[base + lx], scratch[base + lx + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return scratch[base];
}

// The smallest of one index per item across the L items of each row; every item of the row gets it.
NN_INLINE int row_tree_min(__local int* scratch, const int v) {
    const int L = get_local_size(0), lx = get_local_id(0), base = get_local_id(1) * L;
    scratch[base + lx] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = L / 2; s > 0; s >>= 1) {
        if (lx < s) scratch[base + lx] = min(scratch[base + lx], scratch[base + lx + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return scratch[base];
}

// The index of the first lane of c equal to mx; call only where some lane is.
NN_INLINE int first_lane_equal(const float4 c, const float mx) {
    return c.x == mx ? 0 : c.y == mx ? 1 : c.z == mx ? 2 : 3;
}

// The first index of a value equal to mx among this item's share of the row (its cached vectors,
// then the rest), or INT_MAX. With mx the row's largest value as softmax_item_stats takes it (fmax:
// NaNs never win), the smallest such index over the row is argmax_rows' index; a row with no value
// equal to mx (all NaN) has none, and argmax_rows gives index 0.
NN_INLINE int item_first_max(const __global float* zr, const int n, const float4* cache, const float mx) {
    const int L = get_local_size(0), lx = get_local_id(0);
    if (n % 4 == 0) {
        const int nv = n / 4;
        #pragma unroll
        for (int k = 0; k < ROW_CACHE; ++k) {
            const int v = lx + k * L;
            const float4 c = cache[k];
            if (v < nv && any(c == (float4)(mx))) return 4 * v + first_lane_equal(c, mx);
        }
        for (int v = lx + ROW_CACHE * L; v < nv; v += L) {
            const float4 c = LD4(zr, v);
            if (any(c == (float4)(mx))) return 4 * v + first_lane_equal(c, mx);
        }
        return INT_MAX;
    }
    for (int j = lx; j < n; j += L) if (zr[j] == mx) return j;
    return INT_MAX;
}

// This item's (max, sum of exp(x - max)) over its share of the row; fills cache with its first
// ROW_CACHE vectors (-inf past the row, so they add exp(-inf) = 0) when the row is float4-aligned.
NN_INLINE float2 softmax_item_stats(const __global float* xr, const int n, const int active, float4* cache) {
    const int L = get_local_size(0), lx = get_local_id(0);
    float mx = -INFINITY, s = 0.0f;
    if (n % 4 == 0) {
        const int nv = n / 4;
        // An item loads its ROW_CACHE vectors back to back, one past the row re-reading the item's
        // first (and then taken as -inf): under a condition each load would be branched around, one
        // in flight at a time. Only an item's own vectors are read, since y may alias x.
        const int inRow = active && lx < nv;
        if (inRow) {
            #pragma unroll
            for (int k = 0; k < ROW_CACHE; ++k) cache[k] = LD4(xr, lx + k * L < nv ? lx + k * L : lx);
        }
        #pragma unroll
        for (int k = 0; k < ROW_CACHE; ++k) {
            if (!inRow || lx + k * L >= nv) cache[k] = (float4)(-INFINITY);
            mx = fmax(mx, hmax4(cache[k]));
        }
        if (active) for (int v = lx + ROW_CACHE * L; v < nv; v += L) mx = fmax(mx, hmax4(LD4(xr, v)));
        if (mx == -INFINITY) return (float2)(mx, 0.0f);
        #pragma unroll
        for (int k = 0; k < ROW_CACHE; ++k) s += hsum4(exp(cache[k] - mx));
        if (active) for (int v = lx + ROW_CACHE * L; v < nv; v += L) s += hsum4(exp(LD4(xr, v) - mx));
    } else if (active) {
        for (int j = lx; j < n; j += L) mx = fmax(mx, xr[j]);
        if (mx == -INFINITY) return (float2)(mx, 0.0f);
        for (int j = lx; j < n; j += L) s += exp(xr[j] - mx);
    }
    return (float2)(mx, s);
}

// y = exp(x - max) / sum exp(x - max), per row; y may alias x (every element is read by the item
// that writes it, and all reads for the statistics end at the tree's barriers).
__kernel void softmax_rows(const __global float* x, __global float* y, const int m, const int n) {
    __local float2 scratch[GPU_ROW_ITEMS];
    const int row = get_group_id(1) * get_local_size(1) + get_local_id(1);
    const int active = row < m;
    const int L = get_local_size(0), lx = get_local_id(0);
    const __global float* xr = x + (active ? row : 0) * n;
    float4 cache[ROW_CACHE];
    const float2 ms = row_tree_softmax(scratch, softmax_item_stats(xr, n, active, cache));
    if (!active) return;
    __global float* yr = y + row * n;
    if (n % 4 == 0) {
        const int nv = n / 4;
        #pragma unroll
        for (int k = 0; k < ROW_CACHE; ++k) {
            const int v = lx + k * L;
            if (v < nv) ST4(yr, v) = exp(cache[k] - ms.x) / ms.y;
        }
        for (int v = lx + ROW_CACHE * L; v < nv; v += L) ST4(yr, v) = exp(LD4(xr, v) - ms.x) / ms.y;
    } else {
        for (int j = lx; j < n; j += L) yr[j] = exp(xr[j] - ms.x) / ms.y;
    }
}

// Fused softmax + cross-entropy. grad = (softmax(z) - onehot(label)) / m; rowLoss[row] =
// log sum exp(z - max) - (z[label] - max), the log-sum-exp form that stays finite for any logits.
// A label that is not an integer in [0, n) gives a NaN loss (and no one-hot term in the gradient).
// With countMatches, rowMatch[row] = 1 where the row's arg-max (argmax_rows') is its label, else 0:
// a training step's correct count without a pass of argmax_rows over the logits.
// grad may alias logits: z[label] is read before the tree's first barrier, and an item reads only
// its own elements for the arg-max, before it writes them.
__kernel void softmax_xent(const __global float* logits, const __global float* labels, __global float* grad,
                           __global float* rowLoss, const int m, const int n, const float rowCount,
                           __global float* rowMatch, const int countMatches) {
    __local float2 scratch[GPU_ROW_ITEMS];
    __local int firstMax[GPU_ROW_ITEMS];
    const int row = get_group_id(1) * get_local_size(1) + get_local_id(1);
    const int active = row < m;
    const int L = get_local_size(0), lx = get_local_id(0);
    const __global float* zr = logits + (active ? row : 0) * n;
    const float lf = active ? labels[row] : -1.0f;
    const int valid = lf >= 0.0f && lf < (float)n && floor(lf) == lf;
    const int label = valid ? (int)lf : -1;
    const float zLabel = valid ? zr[label] : 0.0f;
    float4 cache[ROW_CACHE];
    const float2 ms = row_tree_softmax(scratch, softmax_item_stats(zr, n, active, cache));
    // The tree runs even when matches are not counted: with its barriers under the (uniform)
    // condition, PoCL 3.1 corrupted its own memory running this kernel.
    const int first = row_tree_min(firstMax, active && countMatches ? item_first_max(zr, n, cache, ms.x) : INT_MAX);
    if (countMatches && active && lx == 0) rowMatch[row] = valid && (first == INT_MAX ? 0 : first) == label ? 1.0f : 0.0f;
    if (!active) return;
    __global float* gr = grad + row * n;
    if (n % 4 == 0) {
        const int nv = n / 4;
        const int4 lane = (int4)(0, 1, 2, 3);
        #pragma unroll
        for (int k = 0; k < ROW_CACHE; ++k) {
            const int v = lx + k * L;
            if (v < nv) {
                const float4 p = exp(cache[k] - ms.x) / ms.y;
                ST4(gr, v) = (p - select((float4)(0.0f), (float4)(1.0f), lane + 4 * v == label)) / rowCount;
            }
        }
        for (int v = lx + ROW_CACHE * L; v < nv; v += L) {
            const float4 p = exp(LD4(zr, v) - ms.x) / ms.y;
            ST4(gr, v) = (p - select((float4)(0.0f), (float4)(1.0f), lane + 4 * v == label)) / rowCount;
        }
    } else {
        for (int j = lx; j < n; j += L) {
            const float p = exp(zr[j] - ms.x) / ms.y;
            gr[j] = (p - (j == label ? 1.0f : 0.0f)) / rowCount;
        }
    }
    if (lx == 0) rowLoss[row] = valid ? log(ms.y) - (zLabel - ms.x) : NAN;
}

// Fused sigmoid + binary cross-entropy over m logits: elemLoss = softplus(z) - y z computed as
// max(z, 0) - y z + log1p(exp(-|z|)) (finite for any z); grad = (sigmoid(z) - y) / m.
__kernel void sigmoid_xent(const __global float* logits, const __global float* labels, __global float* grad,
                           __global float* elemLoss, const int count, const float rowCount) {
    const int i = get_global_id(0);
    if (i >= count) return;
    const float z = logits[i], y = labels[i];
    const float e = exp(-fabs(z));
    const float sig = z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    elemLoss[i] = fmax(z, 0.0f) - y * z + log1p(e);
    grad[i] = (sig - y) / rowCount;
}

// A batch's loss and epoch totals from softmax_xent's per-row values, in one work-group of REDUCE_WG
// items: loss = scale Σ rowLoss (scale = 1/m from the host, Kahan-compensated strided sums and a
// tree, as reduce_partials computes it), lossSum += m · loss (as axpy does), and count += Σ rowMatch
// (exact: 0s and 1s, fewer than 2^24). One launch where two reductions and an axpy take three; one
// work-group suffices for a batch's rows, and stays correct, if slower, for any m.
__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void head_totals(const __global float* rowLoss, const __global float* rowMatch, const int m, const float scale,
                 __global float* loss, __global float* lossSum, __global float* count) {
    __local float scratch[REDUCE_WG];
    const int lid = get_local_id(0);
    const float losses = local_tree_sum(scratch, strided_sum(rowLoss, 1, lid, REDUCE_WG, m, SUM_OF_VALUES, 0.0f));
    const float matches = local_tree_sum(scratch, strided_sum(rowMatch, 1, lid, REDUCE_WG, m, SUM_OF_VALUES, 0.0f));
    if (lid != 0) return;
    const float mean = scale * losses;
    loss[0] = mean;
    lossSum[0] = fma((float)m, mean, lossSum[0]);
    count[0] += matches;
}

// out[row] = index of the row's largest value, the first one on ties (a NaN is never the largest),
// as a float; with `compare`,
// 1 where that index equals labels[row] and 0 elsewhere (the rows a classifier got right, which
// the reduction then counts: three launches where the composed ops take nine).
__kernel void argmax_rows(const __global float* x, const __global float* labels, __global float* out, const int m,
                          const int n, const int compare) {
    __local float bestValue[ROW_WG_ITEMS];
    __local int bestIndex[ROW_WG_ITEMS];
    const int L = get_local_size(0), lx = get_local_id(0), base = get_local_id(1) * L;
    const int row = get_group_id(1) * get_local_size(1) + get_local_id(1);
    const int active = row < m;
    float bv = -INFINITY;
    int bi = -1;                                  // -1: this item has seen no element yet
    if (active) {
        const __global float* xr = x + row * n;
        for (int j = lx; j < n; j += L) {
            const float v = xr[j];
            // A NaN never wins, as on the native backend: a row of NaNs gives index 0.
            if (bi < 0 || v > bv || (isnan(bv) && !isnan(v))) { bv = v; bi = j; }
        }
    }
    bestValue[base + lx] = bv;
    bestIndex[base + lx] = bi;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = L / 2; s > 0; s >>= 1) {
        if (lx < s) {
            const float ov = bestValue[base + lx + s];
            const int oi = bestIndex[base + lx + s];
            const float mv = bestValue[base + lx];
            const int mi = bestIndex[base + lx];
            const int better = ov > mv || (isnan(mv) && !isnan(ov)) || ((ov == mv || (isnan(ov) && isnan(mv))) && oi < mi);
            if (oi >= 0 && (mi < 0 || better)) {
                bestValue[base + lx] = ov;
                bestIndex[base + lx] = oi;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (active && lx == 0) {
        const float best = (float)bestIndex[base];
        out[row] = compare ? (best == labels[row] ? 1.0f : 0.0f) : best;
    }
}

// ---------------------------------------------------------------------------------------------
// Row kernels for CPU drivers: one row per work-item in explicit float16 vectors. A CPU driver runs
// a work-group as a loop over its items and keeps values across barriers in memory, so the
// work-group form above costs several passes with a tree per row; here a row is three sweeps of
// one work-item, the later two from L1 (a 1000-float row is 4 KB): the max, then e = exp(x - max)
// stored while summed, then the scaling of what was stored. Lanes accumulate separate partial sums
// (16 interleaved strands, combined at the end), which is also more accurate than one running sum.

NN_INLINE float hmax16(const float16 v) {
    const float8 a = fmax(v.lo, v.hi);
    const float4 b = fmax(a.lo, a.hi);
    const float2 c = fmax(b.lo, b.hi);
    return fmax(c.x, c.y);
}

NN_INLINE float hsum16(const float16 v) {
    const float8 a = v.lo + v.hi;
    const float4 b = a.lo + a.hi;
    const float2 c = b.lo + b.hi;
    return c.x + c.y;
}

NN_INLINE float row_max_vector(const __global float* xr, const int n) {
    float16 mv = (float16)(-INFINITY);
    int j = 0;
    for (; j + 16 <= n; j += 16) mv = fmax(mv, vload16(0, xr + j));
    float mx = hmax16(mv);
    for (; j < n; ++j) mx = fmax(mx, xr[j]);
    return mx;
}

// e = exp(xr - mx) into er (which may be xr itself); returns the sum of e.
NN_INLINE float row_exp_vector(const __global float* xr, __global float* er, const int n, const float mx) {
    float16 sv = (float16)(0.0f);
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        const float16 e = exp(vload16(0, xr + j) - mx);
        vstore16(e, 0, er + j);
        sv += e;
    }
    float s = hsum16(sv);
    for (; j < n; ++j) {
        const float e = exp(xr[j] - mx);
        er[j] = e;
        s += e;
    }
    return s;
}

// softmax_rows, one row per work-item; y may alias x.
__kernel void softmax_rows_vector(const __global float* x, __global float* y, const int m, const int n) {
    const int row = get_global_id(0);
    if (row >= m) return;
    const __global float* xr = x + row * n;
    __global float* yr = y + row * n;
    const float mx = row_max_vector(xr, n);
    const float inv = 1.0f / row_exp_vector(xr, yr, n, mx);
    int j = 0;
    for (; j + 16 <= n; j += 16) vstore16(vload16(0, yr + j) * inv, 0, yr + j);
    for (; j < n; ++j) yr[j] *= inv;
}

// softmax_xent, one row per work-item; grad may alias logits (z[label] and, with countMatches, the
// first index of the max are read before any write).
__kernel void softmax_xent_vector(const __global float* logits, const __global float* labels, __global float* grad,
                                  __global float* rowLoss, const int m, const int n, const float rowCount,
                                  __global float* rowMatch, const int countMatches) {
    const int row = get_global_id(0);
    if (row >= m) return;
    const __global float* zr = logits + row * n;
    __global float* gr = grad + row * n;
    const float lf = labels[row];
    const int valid = lf >= 0.0f && lf < (float)n && floor(lf) == lf;
    const int label = valid ? (int)lf : -1;
    const float zLabel = valid ? zr[label] : 0.0f;
    const float mx = row_max_vector(zr, n);
    if (countMatches) {
        // argmax_rows' index: the first value equal to the max, which fmax took over the non-NaN
        // values; 0 when there is none (a row of NaNs).
        int first = 0;
        while (first < n && zr[first] != mx) ++first;
        rowMatch[row] = valid && (first == n ? 0 : first) == label ? 1.0f : 0.0f;
    }
    const float sum = row_exp_vector(zr, gr, n, mx);
    const float inv = 1.0f / sum;
    int j = 0;
    for (; j + 16 <= n; j += 16) vstore16(vload16(0, gr + j) * inv / rowCount, 0, gr + j);
    for (; j < n; ++j) gr[j] = gr[j] * inv / rowCount;
    if (valid) gr[label] = (exp(zLabel - mx) * inv - 1.0f) / rowCount;
    rowLoss[row] = valid ? log(sum) - (zLabel - mx) : NAN;
}
