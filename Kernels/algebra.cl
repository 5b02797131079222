// The algebra family besides GEMM (gemm.cl, kept apart because its text keys the autotuner's cache):
// bias rows and reductions.
//
// Reductions accurate for long inputs (10^5 rows and more): every work-item accumulates its strided
// share with Kahan compensation, then a work-group combines the partial sums pairwise in local
// memory (a tree), and a second small launch combines the per-group results the same way. The
// relative error therefore stays near a few ulps instead of growing with the element count.
// The helpers here (kahan_add, kahan_add_if, strided_sum, local_tree_sum, and the lane reductions'
// lane_sum, lane_row, lane_column_sum) are also used by batchnorm.cl and classifierheads.cl, which
// follow this file in the program.

#ifndef REDUCE_WG
#define REDUCE_WG 64
#endif

// Kahan-Babuska step: *sum + v with the rounding error carried in *comp. Needs IEEE arithmetic
// (the program is built without -cl-fast-relaxed-math, so the compiler may not reassociate it away).
NN_INLINE void kahan_add(float* sum, float* comp, const float v) {
    const float y = v - *comp;
    const float t = *sum + y;
    *comp = (t - *sum) - y;
    *sum = t;
}

// kahan_add when `take`, else nothing, by selecting rather than branching: the compiler moves the load
// of a value used only under a condition under it, and then waits for that load alone.
NN_INLINE void kahan_add_if(float* sum, float* comp, const float v, const bool take) {
    float s = *sum, c = *comp;
    kahan_add(&s, &c, v);
    *sum = take ? s : *sum;
    *comp = take ? c : *comp;
}

// Values a strided sum loads before it adds any (see strided_sum).
#ifndef SUM_UNROLL
#define SUM_UNROLL 4
#endif

// What strided_sum adds of each value x: x, (x - shift)^2 or |x| (reduce_partials' modes 0, 1, 2).
#define SUM_OF_VALUES 0
#define SUM_OF_SQUARES 1
#define SUM_OF_ABSOLUTES 2

// Kahan sum, in index order, of f(x[i * pitch]) for i = i0, i0 + stride, ... < end, f chosen by mode
// (one of the SUM_OF constants). SUM_UNROLL values are loaded before any is added: with one load in
// flight per item, a GPU waits on memory's latency once per value instead of streaming at its
// bandwidth. Past end the index is clamped to end - 1 (a cached re-read) and the value not added.
// Called with a constant mode, so that after inlining no test of the mode sits between the loads.
NN_INLINE float strided_sum(const __global float* x, const int pitch, const int i0, const int stride, const int end,
                            const int mode, const float shift) {
    float sum = 0.0f, comp = 0.0f, v[SUM_UNROLL];
    for (int i = i0; i < end; i += SUM_UNROLL * stride) {
        #pragma unroll
        for (int u = 0; u < SUM_UNROLL; ++u) v[u] = x[min(i + u * stride, end - 1) * pitch];
        #pragma unroll
        for (int u = 0; u < SUM_UNROLL; ++u) {
            const float d = v[u] - shift;
            const float t = mode == SUM_OF_SQUARES ? d * d : (mode == SUM_OF_ABSOLUTES ? fabs(v[u]) : v[u]);
            kahan_add_if(&sum, &comp, t, i + u * stride < end);
        }
    }
    return sum;
}

// Pairwise sum of one value per work-item of a 1-D work-group of REDUCE_WG items; every item gets it.
NN_INLINE float local_tree_sum(__local float* scratch, const float v) {
    const int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = REDUCE_WG / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

// mode 0: x, 1: x^2, 2: |x|. One partial per work-group; launched as a single work-group (inputs
// of up to a few thousand elements, such as a batch's per-row losses), it writes the result as
// reduce_finish would, scale * total (+ out when accumulate), and saves that launch.
__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void reduce_partials(const __global float* x, const int count, const int mode, __global float* partials,
                     const float scale, const int accumulate, __global float* out) {
    __local float scratch[REDUCE_WG];
    const int i0 = get_global_id(0), stride = get_global_size(0);
    const float sum = mode == SUM_OF_SQUARES ? strided_sum(x, 1, i0, stride, count, SUM_OF_SQUARES, 0.0f)
        : mode == SUM_OF_ABSOLUTES ? strided_sum(x, 1, i0, stride, count, SUM_OF_ABSOLUTES, 0.0f)
        : strided_sum(x, 1, i0, stride, count, SUM_OF_VALUES, 0.0f);
    const float total = local_tree_sum(scratch, sum);
    if (get_local_id(0) != 0) return;
    if (get_num_groups(0) > 1) partials[get_group_id(0)] = total;
    else out[0] = accumulate ? out[0] + scale * total : scale * total;
}

// out <- scale * sum(partials) (+ out when accumulate). Launched as a single work-group.
__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void reduce_finish(const __global float* partials, const int groups, const float scale, const int accumulate,
                   __global float* out) {
    __local float scratch[REDUCE_WG];
    float sum = 0.0f, comp = 0.0f;
    for (int i = get_local_id(0); i < groups; i += REDUCE_WG) kahan_add(&sum, &comp, partials[i]);
    const float total = local_tree_sum(scratch, sum);
    if (get_local_id(0) == 0) out[0] = accumulate ? out[0] + scale * total : scale * total;
}

// Column sums of an m x n matrix in chunks of rows: partials[p * n + j] = sum of x[i, j] for the
// rows of chunk p. Global size (n rounded up, chunks); neighbouring work-items read neighbouring
// columns, so loads are contiguous across the work-group. With one chunk (fewer than 1024 rows, a
// batch's bias gradient) it writes out[j] as column_finish would, and saves that launch.
__kernel void column_partials(const __global float* x, const int m, const int n, const int rowsPerChunk,
                              __global float* partials, const float alpha, const float beta, __global float* out) {
    const int j = get_global_id(0);
    const int p = get_global_id(1);
    if (j >= n) return;
    const int r0 = p * rowsPerChunk;
    const int r1 = min(m, r0 + rowsPerChunk);
    float sum = 0.0f, comp = 0.0f;
    for (int i = r0; i < r1; ++i) kahan_add(&sum, &comp, x[i * n + j]);
    if (get_global_size(1) > 1) partials[p * n + j] = sum;
    else out[j] = beta == 0.0f ? alpha * sum : fma(beta, out[j], alpha * sum);
}

// out[j] <- alpha * sum_p partials[p, j] + beta * out[j] (beta == 0 ignores out's old contents).
__kernel void column_finish(const __global float* partials, const int chunks, const int n,
                            const float alpha, const float beta, __global float* out) {
    const int j = get_global_id(0);
    if (j >= n) return;
    float sum = 0.0f, comp = 0.0f;
    for (int p = 0; p < chunks; ++p) kahan_add(&sum, &comp, partials[p * n + j]);
    out[j] = beta == 0.0f ? alpha * sum : fma(beta, out[j], alpha * sum);
}

// ---------------------------------------------------------------------------------------------
// Column reductions in the GPU shape (batch norm's too, in batchnorm.cl): work-groups of LANE_COLS
// adjacent columns x LANE_ROWS row lanes over a chunk of rows, so that each load instruction reads
// LANE_COLS consecutive floats of one row (coalesced); the lanes of a column combine in local memory.
// Each lane reads SUM_UNROLL of its rows before it adds any (strided_sum), where column_partials
// above (one item per column walking its rows) has one load in flight per item.

#ifndef LANE_COLS
#define LANE_COLS 32
#endif
#ifndef LANE_ROWS
#define LANE_ROWS 8
#endif

// Sum over the LANE_ROWS row lanes of each column of a (LANE_COLS, LANE_ROWS) work-group; every item
// of the column gets it.
NN_INLINE float lane_sum(__local float* scratch, const float v) {
    const int lx = get_local_id(0), ly = get_local_id(1);
    scratch[ly * LANE_COLS + lx] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = LANE_ROWS / 2; s > 0; s >>= 1) {
        if (ly < s) scratch[ly * LANE_COLS + lx] += scratch[(ly + s) * LANE_COLS + lx];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = scratch[lx];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

// The u-th row a lane visits after row i (stride LANE_ROWS), clamped to end - 1: a lane loads
// SUM_UNROLL rows at once, and one past the end re-reads a cached row whose value it then skips.
NN_INLINE int lane_row(const int i, const int u, const int end) { return min(i + u * LANE_ROWS, end - 1); }

// Kahan sum of column j of x (n columns) over rows i0, i0 + LANE_ROWS, ... < end: one lane's share,
// added in row order.
NN_INLINE float lane_column_sum(const __global float* x, const int n, const int j, const int i0, const int end) {
    return strided_sum(x + j, n, i0, LANE_ROWS, end, SUM_OF_VALUES, 0.0f);
}

// column_partials in the GPU shape, one work-group row per chunk of rowsPerChunk rows: one chunk
// writes out[j] itself; several write partials[p * n + j] for column_finish_lanes.
__kernel __attribute__((reqd_work_group_size(LANE_COLS, LANE_ROWS, 1)))
void column_partials_lanes(const __global float* x, const int m, const int n, const int rowsPerChunk,
                           __global float* partials, const float alpha, const float beta, __global float* out) {
    __local float scratch[LANE_COLS * LANE_ROWS];
    const int j = get_global_id(0), p = get_group_id(1), ly = get_local_id(1);
    const int active = j < n;
    const int r0 = p * rowsPerChunk, r1 = min(m, r0 + rowsPerChunk);
    const float sum = lane_sum(scratch, active ? lane_column_sum(x, n, j, r0 + ly, r1) : 0.0f);
    if (!active || ly != 0) return;
    if (get_num_groups(1) > 1) partials[p * n + j] = sum;
    else out[j] = beta == 0.0f ? alpha * sum : fma(beta, out[j], alpha * sum);
}

// column_finish in the GPU shape: one work-group row, whose lanes split the chunks among themselves.
__kernel __attribute__((reqd_work_group_size(LANE_COLS, LANE_ROWS, 1)))
void column_finish_lanes(const __global float* partials, const int chunks, const int n,
                         const float alpha, const float beta, __global float* out) {
    __local float scratch[LANE_COLS * LANE_ROWS];
    const int j = get_global_id(0), ly = get_local_id(1);
    const int active = j < n;
    const float sum = lane_sum(scratch, active ? lane_column_sum(partials, n, j, ly, chunks) : 0.0f);
    if (active && ly == 0) out[j] = beta == 0.0f ? alpha * sum : fma(beta, out[j], alpha * sum);
}

// x[i, j] += bias[j] for an m x n matrix x, flattened.
__kernel void add_row_vector(const __global float* restrict bias, __global float* restrict x,
                             const int n, const int count) {
    const int i = get_global_id(0);
    if (i < count) x[i] += bias[i % n];
}
