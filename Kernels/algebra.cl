// The algebra family besides GEMM (gemm.cl, kept apart because its text keys the autotuner's cache):
// bias rows and reductions.
//
// Reductions accurate for long inputs (10^5 rows and more): every work-item accumulates its strided
// share with Kahan compensation, then a work-group combines the partial sums pairwise in local
// memory (a tree), and a second small launch combines the per-group results the same way. The
// relative error therefore stays near a few ulps instead of growing with the element count.
// The helpers here (kahan_add, local_tree_sum) are also used by batchnorm.cl and classifierheads.cl,
// which follow this file in the program.

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
    float sum = 0.0f, comp = 0.0f;
    for (int i = get_global_id(0); i < count; i += get_global_size(0)) {
        const float v = x[i];
        kahan_add(&sum, &comp, mode == 1 ? v * v : (mode == 2 ? fabs(v) : v));
    }
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

// x[i, j] += bias[j] for an m x n matrix x, flattened.
__kernel void add_row_vector(const __global float* restrict bias, __global float* restrict x,
                             const int n, const int count) {
    const int i = get_global_id(0);
    if (i < count) x[i] += bias[i % n];
}
