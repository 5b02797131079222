// Batch normalisation per feature (= per column of a row-major m x n matrix), PyTorch BatchNorm1d
// numerics. Statistics are two-pass accurate, so a feature with a large mean and small spread
// (1e4 + N(0, 1)) keeps its variance over 10^5 rows, in both kernel shapes:
// - GPU shape (this first part): the lane reductions of algebra.cl, work-groups of LANE_COLS adjacent
//   columns x LANE_ROWS row lanes over a chunk of rows, so each load instruction reads LANE_COLS
//   consecutive floats of one row (coalesced). A chunk's items sum their rows with Kahan
//   compensation, SUM_UNROLL rows loaded at a time, the lanes combine in local memory, and the
//   chunk's mean is subtracted in a second sweep over the same rows (from cache) for its sum of
//   squared deviations M2. A second launch combines the chunks per column exactly:
//   mean = sum / m and M2 = sum over chunks of (M2_p + rows_p (mean_p - mean)^2), Kahan-compensated.
//   The element-wise passes are float4 grid-stride loops. A batch of up to 256 rows (the host's
//   batchNormOneLaunchRows) takes one launch per direction instead, the column-group kernels after
//   the chunked ones: a work-group per column block makes all three sweeps over all rows.
// - CPU shape (the whole-column kernels at the end): one work-item per block of columns.
// Every kernel that writes y or reads dy also serves batch norm followed by ReLU (a network's
// batchnorm -> relu pair), selected by its `relu` argument: the forward kernels store
// max(0, y) instead of y, and the backward kernels read dy as dz masked by the ReLU's output z, so
// neither direction makes a separate pass over memory for the ReLU. An argument rather than a -D
// variant keeps one compiled program and one body per kernel; it is the same for every item of a
// launch, so the branch costs nothing per element.

// ReLU as relu_forward applies it (x < 0 ? 0 : x, so a NaN stays NaN for the divergence checks to
// see), and its backward as relu_backward does (dz where z > 0, else 0: a pre-activation of exactly 0
// passes no gradient).
NN_INLINE float bn_relu(const float v) { return v < 0.0f ? 0.0f : v; }
NN_INLINE float4 bn_relu4(const float4 v) { return select(v, (float4)(0.0f), v < (float4)(0.0f)); }
NN_INLINE float16 bn_relu16(const float16 v) { return select(v, (float16)(0.0f), v < (float16)(0.0f)); }
NN_INLINE float bn_mask(const float dz, const float z) { return z > 0.0f ? dz : 0.0f; }
NN_INLINE float4 bn_mask4(const float4 dz, const float4 z) { return select((float4)(0.0f), dz, z > (float4)(0.0f)); }
NN_INLINE float16 bn_mask16(const float16 dz, const float16 z) { return select((float16)(0.0f), dz, z > (float16)(0.0f)); }

// Per chunk p of rowsPerChunk rows: partialSum[p * n + j] = sum of x[i, j] and partialM2[p * n + j] =
// sum of (x[i, j] - chunk mean)^2 over the chunk's rows.
__kernel __attribute__((reqd_work_group_size(LANE_COLS, LANE_ROWS, 1)))
void bn_statistics_partials(const __global float* x, const int m, const int n, const int rowsPerChunk,
                            __global float* partialSum, __global float* partialM2) {
    __local float scratch[LANE_COLS * LANE_ROWS];
    const int j = get_global_id(0), p = get_group_id(1), ly = get_local_id(1);
    const int active = j < n;
    const int r0 = p * rowsPerChunk, r1 = min(m, r0 + rowsPerChunk);
    const float sum = lane_sum(scratch, active ? lane_column_sum(x, n, j, r0 + ly, r1) : 0.0f);
    const float mu = sum / (float)max(1, r1 - r0);
    const float m2 = lane_sum(scratch, active ? strided_sum(x + j, n, r0 + ly, LANE_ROWS, r1, SUM_OF_SQUARES, mu) : 0.0f);
    if (active && ly == 0) {
        partialSum[p * n + j] = sum;
        partialM2[p * n + j] = m2;
    }
}

// Combines the chunks: saved mean and 1/sqrt(var + eps) from the biased variance; running statistics
// r <- beta r + (1 - beta) theta with the unbiased variance var * m / (m - 1) (var itself when m == 1).
// One work-group row per column block, as bn_statistics_partials: the row lanes take every
// LANE_ROWS-th chunk and combine in local memory, so no item walks all chunks (up to 256) alone.
__kernel __attribute__((reqd_work_group_size(LANE_COLS, LANE_ROWS, 1)))
void bn_statistics_finish(const __global float* partialSum, const __global float* partialM2,
                          const int chunks, const int rowsPerChunk, const int m, const int n,
                          const float epsilon, const float averagingBeta,
                          __global float* mean, __global float* invStd,
                          __global float* runningMean, __global float* runningVariance) {
    __local float scratch[LANE_COLS * LANE_ROWS];
    const int j = get_global_id(0), ly = get_local_id(1);
    const int active = j < n;
    const float mu = lane_sum(scratch, active ? lane_column_sum(partialSum, n, j, ly, chunks) : 0.0f) / (float)m;
    float q = 0.0f, qc = 0.0f;
    if (active) for (int p = ly; p < chunks; p += SUM_UNROLL * LANE_ROWS) {
        float sums[SUM_UNROLL], m2s[SUM_UNROLL];
        #pragma unroll
        for (int u = 0; u < SUM_UNROLL; ++u) {
            const int at = lane_row(p, u, chunks) * n + j;
            sums[u] = partialSum[at];
            m2s[u] = partialM2[at];
        }
        #pragma unroll
        for (int u = 0; u < SUM_UNROLL; ++u) {
            const int chunk = p + u * LANE_ROWS;
            const int rows = min(m, (chunk + 1) * rowsPerChunk) - chunk * rowsPerChunk;
            const bool take = chunk < chunks && rows > 0;
            const float d = sums[u] / (float)max(1, rows) - mu;
            kahan_add_if(&q, &qc, m2s[u], take);
            kahan_add_if(&q, &qc, (float)rows * d * d, take);
        }
    }
    const float squares = lane_sum(scratch, q);
    if (!active || ly != 0) return;
    const float variance = squares / (float)m;
    mean[j] = mu;
    invStd[j] = 1.0f / sqrt(variance + epsilon);
    const float unbiased = m > 1 ? squares / (float)(m - 1) : variance;
    runningMean[j] = averagingBeta * runningMean[j] + (1.0f - averagingBeta) * mu;
    runningVariance[j] = averagingBeta * runningVariance[j] + (1.0f - averagingBeta) * unbiased;
}

// y = gamma (x - mean) invStd + beta (max(0, y) when relu) over count = m * n elements, grid-stride;
// float4 when n % 4 == 0 (then a vector never straddles two rows and its four features are
// adjacent in every parameter).
__kernel void bn_normalize(const __global float* x, const __global float* mean, const __global float* invStd,
                           const __global float* gamma, const __global float* beta, __global float* y,
                           const int n, const int count, const int relu) {
    if (n % 4 == 0) {
        const int nv = n / 4;
        for (int i = get_global_id(0); i < count / 4; i += get_global_size(0)) {
            const int j = i % nv;
            const float4 v = fma(LD4(gamma, j), (LD4(x, i) - LD4(mean, j)) * LD4(invStd, j), LD4(beta, j));
            ST4(y, i) = relu ? bn_relu4(v) : v;
        }
        return;
    }
    for (int i = get_global_id(0); i < count; i += get_global_size(0)) {
        const int j = i % n;
        const float v = fma(gamma[j], (x[i] - mean[j]) * invStd[j], beta[j]);
        y[i] = relu ? bn_relu(v) : v;
    }
}

// Evaluation mode: running statistics instead of the batch's; max(0, y) when relu.
__kernel void bn_inference(const __global float* x, const __global float* runningMean,
                           const __global float* runningVariance, const __global float* gamma,
                           const __global float* beta, const float epsilon, __global float* y,
                           const int n, const int count, const int relu) {
    const int i = get_global_id(0);
    if (i >= count) return;
    const int j = i % n;
    const float inv = 1.0f / sqrt(runningVariance[j] + epsilon);
    const float v = fma(gamma[j], (x[i] - runningMean[j]) * inv, beta[j]);
    y[i] = relu ? bn_relu(v) : v;
}

// bn_inference in the GPU shape: grid-stride, float4 when n % 4 == 0 (as bn_normalize).
__kernel void bn_inference_v4(const __global float* x, const __global float* runningMean,
                              const __global float* runningVariance, const __global float* gamma,
                              const __global float* beta, const float epsilon, __global float* y,
                              const int n, const int count, const int relu) {
    if (n % 4 == 0) {
        const int nv = n / 4;
        for (int i = get_global_id(0); i < count / 4; i += get_global_size(0)) {
            const int j = i % nv;
            const float4 inv = 1.0f / sqrt(LD4(runningVariance, j) + epsilon);
            const float4 v = fma(LD4(gamma, j), (LD4(x, i) - LD4(runningMean, j)) * inv, LD4(beta, j));
            ST4(y, i) = relu ? bn_relu4(v) : v;
        }
        return;
    }
    for (int i = get_global_id(0); i < count; i += get_global_size(0)) {
        const int j = i % n;
        const float inv = 1.0f / sqrt(runningVariance[j] + epsilon);
        const float v = fma(gamma[j], (x[i] - runningMean[j]) * inv, beta[j]);
        y[i] = relu ? bn_relu(v) : v;
    }
}

// The u-th row a lane visits after row i, as lane_row, but past the end the lane's own row i rather
// than row end - 1: the sweeps that write may write in place (dx over dy), and row end - 1 belongs
// to another lane, which may be writing it while this one re-reads it.
NN_INLINE int own_lane_row(const int i, const int u, const int end) {
    const int row = i + u * LANE_ROWS;
    return row < end ? row : i;
}

// Loads g (dy, or when relu dz masked by z) and x at SUM_UNROLL of a lane's rows of column j from
// row i on, all before any is used. Past `end` a row is re-read: row end - 1 by the sweeps that only
// read, the lane's own row i by those that write (`own`; see own_lane_row).
NN_INLINE void bn_load_lane_rows(const __global float* x, const __global float* dy, const __global float* z, const int relu,
                                 const int i, const int end, const int n, const int j, const int own,
                                 float* g, float* xv) {
    #pragma unroll
    for (int u = 0; u < SUM_UNROLL; ++u) {
        const int at = (own ? own_lane_row(i, u, end) : lane_row(i, u, end)) * n + j;
        g[u] = relu ? bn_mask(dy[at], z[at]) : dy[at];
        xv[u] = x[at];
    }
}

// One row lane's sums of g and g * xhat over its rows i0, i0 + LANE_ROWS, ... < r1 of column j (g:
// dy, or when relu dy masked by z). Inlined once per value of relu, so that the loads of each
// version are unconditional: a z load under the condition would be branched around, one load in
// flight at a time, and without relu z is not read at all.
NN_INLINE void bn_backward_lane_sums(const __global float* x, const __global float* dy, const __global float* z,
                                     const int relu, const float mu, const float inv, const int i0, const int r1,
                                     const int n, const int j, float* s1, float* s2) {
    float c1 = 0.0f, c2 = 0.0f;
    for (int i = i0; i < r1; i += SUM_UNROLL * LANE_ROWS) {
        float g[SUM_UNROLL], xv[SUM_UNROLL];
        bn_load_lane_rows(x, dy, z, relu, i, r1, n, j, 0, g, xv);
        #pragma unroll
        for (int u = 0; u < SUM_UNROLL; ++u) {
            const bool take = i + u * LANE_ROWS < r1;
            kahan_add_if(s1, &c1, g[u], take);
            kahan_add_if(s2, &c2, g[u] * ((xv[u] - mu) * inv), take);
        }
    }
}

// Per chunk p of rows: partialsDy[p * n + j] = sum of dy and partialsDyXhat[p * n + j] = sum of dy * xhat
// with xhat = (x - mean) invStd, in the work-group shape of bn_statistics_partials. When relu, dy is
// the ReLU's dz masked by its output z (z is not read otherwise).
__kernel __attribute__((reqd_work_group_size(LANE_COLS, LANE_ROWS, 1)))
void bn_backward_partials(const __global float* x, const __global float* dy,
                          const __global float* z, const int relu,
                          const __global float* mean, const __global float* invStd,
                          const int m, const int n, const int rowsPerChunk,
                          __global float* partialsDy, __global float* partialsDyXhat) {
    __local float scratch[LANE_COLS * LANE_ROWS];
    const int j = get_global_id(0), p = get_group_id(1), ly = get_local_id(1);
    const int active = j < n;
    const int r0 = p * rowsPerChunk, r1 = min(m, r0 + rowsPerChunk);
    float s1 = 0.0f, s2 = 0.0f;
    if (active) {
        const float mu = mean[j], inv = invStd[j];
        if (relu) {
            bn_backward_lane_sums(x, dy, z, 1, mu, inv, r0 + ly, r1, n, j, &s1, &s2);
        } else {
            bn_backward_lane_sums(x, dy, z, 0, mu, inv, r0 + ly, r1, n, j, &s1, &s2);
        }
    }
    const float sumDy = lane_sum(scratch, s1);
    const float sumDyXhat = lane_sum(scratch, s2);
    if (active && ly == 0) {
        partialsDy[p * n + j] = sumDy;
        partialsDyXhat[p * n + j] = sumDyXhat;
    }
}

// dbeta = sum dy, dgamma = sum dy * xhat (overwritten), over the chunks in the shape of
// bn_statistics_finish.
__kernel __attribute__((reqd_work_group_size(LANE_COLS, LANE_ROWS, 1)))
void bn_backward_finish(const __global float* partialsDy, const __global float* partialsDyXhat,
                        const int chunks, const int n,
                        __global float* gradGamma, __global float* gradBeta) {
    __local float scratch[LANE_COLS * LANE_ROWS];
    const int j = get_global_id(0), ly = get_local_id(1);
    const int active = j < n;
    const float sumDy = lane_sum(scratch, active ? lane_column_sum(partialsDy, n, j, ly, chunks) : 0.0f);
    const float sumDyXhat = lane_sum(scratch, active ? lane_column_sum(partialsDyXhat, n, j, ly, chunks) : 0.0f);
    if (active && ly == 0) {
        gradBeta[j] = sumDy;
        gradGamma[j] = sumDyXhat;
    }
}

// dx = (gamma invStd) (dy - dbeta / m - xhat dgamma / m), grid-stride, float4 when n % 4 == 0 (as
// bn_normalize); dy masked by z when relu, as in bn_backward_partials. dx may alias dy: each
// element is read and written by one item.
__kernel void bn_backward_dx(const __global float* x, const __global float* dy,
                             const __global float* z, const int relu,
                             const __global float* mean, const __global float* invStd,
                             const __global float* gamma, const __global float* gradGamma,
                             const __global float* gradBeta, const float rowCount,
                             __global float* dx, const int n, const int count) {
    if (n % 4 == 0) {
        const int nv = n / 4;
        for (int i = get_global_id(0); i < count / 4; i += get_global_size(0)) {
            const int j = i % nv;
            const float4 inv = LD4(invStd, j);
            const float4 xhat = (LD4(x, i) - LD4(mean, j)) * inv;
            const float4 g = relu ? bn_mask4(LD4(dy, i), LD4(z, i)) : LD4(dy, i);
            ST4(dx, i) = LD4(gamma, j) * inv * (g - LD4(gradBeta, j) / rowCount - xhat * LD4(gradGamma, j) / rowCount);
        }
        return;
    }
    for (int i = get_global_id(0); i < count; i += get_global_size(0)) {
        const int j = i % n;
        const float inv = invStd[j];
        const float xhat = (x[i] - mean[j]) * inv;
        const float g = relu ? bn_mask(dy[i], z[i]) : dy[i];
        dx[i] = gamma[j] * inv * (g - gradBeta[j] / rowCount - xhat * gradGamma[j] / rowCount);
    }
}

// One-launch kernels for batches of up to a few hundred rows, where the chunked kernels' three
// launches cost more than their work: one work-group of the chunked kernels' lanes per block of LANE_COLS
// columns over all m rows. Each direction makes the chunked kernels' sweeps (the ones after the
// first from cache) with the chunks' combining step left out: one chunk's combination is the
// identity, so the statistics and gradients are those of the chunked kernels with one chunk.

// Training-mode forward: mean, Σ(x − mean)², the saved and running statistics as bn_statistics_finish
// computes them, then y as bn_normalize does (max(0, y) when relu), SUM_UNROLL rows loaded at a time.
__kernel __attribute__((reqd_work_group_size(LANE_COLS, LANE_ROWS, 1)))
void bn_forward_column_groups(const __global float* x, const __global float* gamma, const __global float* beta,
                              const int m, const int n, const float epsilon, const float averagingBeta,
                              __global float* y, __global float* mean, __global float* invStd,
                              __global float* runningMean, __global float* runningVariance, const int relu) {
    __local float scratch[LANE_COLS * LANE_ROWS];
    const int j = get_global_id(0), ly = get_local_id(1);
    const int active = j < n;
    const float mu = lane_sum(scratch, active ? lane_column_sum(x, n, j, ly, m) : 0.0f) / (float)m;
    const float squares = lane_sum(scratch, active ? strided_sum(x + j, n, ly, LANE_ROWS, m, SUM_OF_SQUARES, mu) : 0.0f);
    // lane_sum's barriers order local memory only; the y sweep may overwrite x that other lanes read.
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (!active) return;
    const float variance = squares / (float)m;
    const float inv = 1.0f / sqrt(variance + epsilon);
    if (ly == 0) {
        mean[j] = mu;
        invStd[j] = inv;
        const float unbiased = m > 1 ? squares / (float)(m - 1) : variance;
        runningMean[j] = averagingBeta * runningMean[j] + (1.0f - averagingBeta) * mu;
        runningVariance[j] = averagingBeta * runningVariance[j] + (1.0f - averagingBeta) * unbiased;
    }
    const float g = gamma[j], b = beta[j];
    for (int i = ly; i < m; i += SUM_UNROLL * LANE_ROWS) {
        float xv[SUM_UNROLL];
        #pragma unroll
        for (int u = 0; u < SUM_UNROLL; ++u) xv[u] = x[own_lane_row(i, u, m) * n + j];
        #pragma unroll
        for (int u = 0; u < SUM_UNROLL; ++u) {
            const int row = i + u * LANE_ROWS;
            const float v = fma(g, (xv[u] - mu) * inv, b);
            if (row < m) y[row * n + j] = relu ? bn_relu(v) : v;
        }
    }
}

// One row lane's share of dx = (gamma invStd) (g - Σg / m - xhat Σ(g xhat) / m) over rows i0,
// i0 + LANE_ROWS, ... < m (g: dy, or when relu dy masked by z), as bn_backward_dx computes it; inlined
// once per value of relu, as bn_backward_lane_sums.
NN_INLINE void bn_backward_lane_dx(const __global float* x, const __global float* dy, const __global float* z,
                                   const int relu, const float mu, const float inv, const float scale,
                                   const float meanDy, const float meanDyXhat, const int i0, const int m,
                                   const int n, const int j, __global float* dx) {
    for (int i = i0; i < m; i += SUM_UNROLL * LANE_ROWS) {
        float g[SUM_UNROLL], xv[SUM_UNROLL];
        bn_load_lane_rows(x, dy, z, relu, i, m, n, j, 1, g, xv);
        #pragma unroll
        for (int u = 0; u < SUM_UNROLL; ++u) {
            const int row = i + u * LANE_ROWS;
            const float xhat = (xv[u] - mu) * inv;
            if (row < m) dx[row * n + j] = scale * (g[u] - meanDy - xhat * meanDyXhat);
        }
    }
}

// Backward: dbeta = Σ dy and dgamma = Σ dy·xhat (overwritten), then dx as bn_backward_dx computes it;
// dy masked by z when relu. dx may alias dy: every row of the group's columns is summed before a
// global barrier, and each element is then read and written by one item.
__kernel __attribute__((reqd_work_group_size(LANE_COLS, LANE_ROWS, 1)))
void bn_backward_column_groups(const __global float* x, const __global float* dy,
                               const __global float* z, const int relu,
                               const __global float* mean, const __global float* invStd,
                               const __global float* gamma, const int m, const int n,
                               __global float* dx, __global float* gradGamma, __global float* gradBeta) {
    __local float scratch[LANE_COLS * LANE_ROWS];
    const int j = get_global_id(0), ly = get_local_id(1);
    const int active = j < n;
    const float mu = active ? mean[j] : 0.0f, inv = active ? invStd[j] : 0.0f;
    float s1 = 0.0f, s2 = 0.0f;
    if (active) {
        if (relu) {
            bn_backward_lane_sums(x, dy, z, 1, mu, inv, ly, m, n, j, &s1, &s2);
        } else {
            bn_backward_lane_sums(x, dy, z, 0, mu, inv, ly, m, n, j, &s1, &s2);
        }
    }
    const float sumDy = lane_sum(scratch, s1);
    const float sumDyXhat = lane_sum(scratch, s2);
    // lane_sum's barriers order local memory only; the dx sweep may overwrite dy that other lanes read.
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (!active) return;
    if (ly == 0) {
        gradBeta[j] = sumDy;
        gradGamma[j] = sumDyXhat;
    }
    const float scale = gamma[j] * inv, meanDy = sumDy / (float)m, meanDyXhat = sumDyXhat / (float)m;
    if (relu) {
        bn_backward_lane_dx(x, dy, z, 1, mu, inv, scale, meanDy, meanDyXhat, ly, m, n, j, dx);
    } else {
        bn_backward_lane_dx(x, dy, z, 0, mu, inv, scale, meanDy, meanDyXhat, ly, m, n, j, dx);
    }
}

// ---------------------------------------------------------------------------------------------
// Whole-column kernels for CPU drivers: one work-item per block of 16 features over all m rows, in
// explicit float16 vectors (a CPU driver does not vectorise across work-items that each loop over
// rows). Each call is one kernel: the passes after the first re-read the block from cache (16
// columns x 4096 rows = 256 KB, within a core's L2), so memory sees one read of each input and
// one write of each output. Same two-pass, Kahan-compensated numerics as the chunked kernels.

NN_INLINE float16 bn_load_block(const __global float* p, const int width) {
    if (width >= 16) return vload16(0, p);
    float lanes[16];
    for (int e = 0; e < 16; ++e) lanes[e] = e < width ? p[e] : 0.0f;
    return vload16(0, lanes);
}

NN_INLINE void bn_store_block(__global float* p, const float16 v, const int width) {
    if (width >= 16) { vstore16(v, 0, p); return; }
    float lanes[16];
    vstore16(v, 0, lanes);
    for (int e = 0; e < width; ++e) p[e] = lanes[e];
}

NN_INLINE void kahan_add16(float16* sum, float16* comp, const float16 v) {
    const float16 y = v - *comp;
    const float16 t = *sum + y;
    *comp = (t - *sum) - y;
    *sum = t;
}

// The `width` values of dy at this block, or, when relu, of dz masked by the ReLU output z (z is not read otherwise).
NN_INLINE float16 bn_backward_gradient(const __global float* dy, const __global float* z, const int relu, const int width) {
    const float16 g = bn_load_block(dy, width);
    return relu ? bn_mask16(g, bn_load_block(z, width)) : g;
}

#ifndef BN_VECTORS
#define BN_VECTORS 4
#endif
#define BN_COLS (16 * BN_VECTORS)

// Training-mode forward of one block of BN_COLS features (BN_VECTORS float16 per row): mean,
// Σ(x − mean)², y (max(0, y) when relu), the saved statistics and the running ones, as
// bn_statistics_finish + bn_normalize define them.
__kernel void bn_forward_columns(const __global float* x, const __global float* gamma, const __global float* beta,
                                 const int m, const int n, const float epsilon, const float averagingBeta,
                                 __global float* y, __global float* mean, __global float* invStd,
                                 __global float* runningMean, __global float* runningVariance, const int relu) {
    const int j0 = get_global_id(0) * BN_COLS;
    if (j0 >= n) return;
    int width[BN_VECTORS];
    float16 s[BN_VECTORS], c[BN_VECTORS], mu[BN_VECTORS], inv[BN_VECTORS], g[BN_VECTORS], b[BN_VECTORS];
    #pragma unroll
    for (int v = 0; v < BN_VECTORS; ++v) {
        width[v] = clamp(n - j0 - 16 * v, 0, 16);
        s[v] = (float16)(0.0f); c[v] = (float16)(0.0f);
    }
    for (int i = 0; i < m; ++i) {
        #pragma unroll
        for (int v = 0; v < BN_VECTORS; ++v) kahan_add16(&s[v], &c[v], bn_load_block(x + i * n + j0 + 16 * v, width[v]));
    }
    #pragma unroll
    for (int v = 0; v < BN_VECTORS; ++v) {
        mu[v] = s[v] * (1.0f / (float)m);
        s[v] = (float16)(0.0f); c[v] = (float16)(0.0f);
    }
    for (int i = 0; i < m; ++i) {
        #pragma unroll
        for (int v = 0; v < BN_VECTORS; ++v) {
            const float16 d = bn_load_block(x + i * n + j0 + 16 * v, width[v]) - mu[v];
            kahan_add16(&s[v], &c[v], d * d);
        }
    }
    #pragma unroll
    for (int v = 0; v < BN_VECTORS; ++v) {
        const int j = j0 + 16 * v;
        const float16 variance = s[v] / (float)m;
        inv[v] = 1.0f / sqrt(variance + epsilon);
        const float16 unbiased = m > 1 ? s[v] / (float)(m - 1) : variance;
        g[v] = bn_load_block(gamma + j, width[v]);
        b[v] = bn_load_block(beta + j, width[v]);
        bn_store_block(mean + j, mu[v], width[v]);
        bn_store_block(invStd + j, inv[v], width[v]);
        bn_store_block(runningMean + j,
                       averagingBeta * bn_load_block(runningMean + j, width[v]) + (1.0f - averagingBeta) * mu[v], width[v]);
        bn_store_block(runningVariance + j,
                       averagingBeta * bn_load_block(runningVariance + j, width[v]) + (1.0f - averagingBeta) * unbiased,
                       width[v]);
    }
    for (int i = 0; i < m; ++i) {
        #pragma unroll
        for (int v = 0; v < BN_VECTORS; ++v) {
            const int at = i * n + j0 + 16 * v;
            const float16 out = fma(g[v], (bn_load_block(x + at, width[v]) - mu[v]) * inv[v], b[v]);
            bn_store_block(y + at, relu ? bn_relu16(out) : out, width[v]);
        }
    }
}

// Backward of one block of BN_COLS features: dbeta = Σ dy, dgamma = Σ dy·xhat, then dx as
// bn_backward_dx computes it, with dy masked by z when relu. dx may alias dy.
__kernel void bn_backward_columns(const __global float* x, const __global float* dy,
                                  const __global float* z, const int relu,
                                  const __global float* mean, const __global float* invStd,
                                  const __global float* gamma, const int m, const int n,
                                  __global float* dx, __global float* gradGamma, __global float* gradBeta) {
    const int j0 = get_global_id(0) * BN_COLS;
    if (j0 >= n) return;
    int width[BN_VECTORS];
    float16 mu[BN_VECTORS], inv[BN_VECTORS], s1[BN_VECTORS], c1[BN_VECTORS], s2[BN_VECTORS], c2[BN_VECTORS];
    #pragma unroll
    for (int v = 0; v < BN_VECTORS; ++v) {
        width[v] = clamp(n - j0 - 16 * v, 0, 16);
        mu[v] = bn_load_block(mean + j0 + 16 * v, width[v]);
        inv[v] = bn_load_block(invStd + j0 + 16 * v, width[v]);
        s1[v] = (float16)(0.0f); c1[v] = (float16)(0.0f); s2[v] = (float16)(0.0f); c2[v] = (float16)(0.0f);
    }
    for (int i = 0; i < m; ++i) {
        #pragma unroll
        for (int v = 0; v < BN_VECTORS; ++v) {
            const int at = i * n + j0 + 16 * v;
            const float16 g = bn_backward_gradient(dy + at, z + at, relu, width[v]);
            kahan_add16(&s1[v], &c1[v], g);
            kahan_add16(&s2[v], &c2[v], g * ((bn_load_block(x + at, width[v]) - mu[v]) * inv[v]));
        }
    }
    const float rowCount = (float)m;
    float16 scale[BN_VECTORS], meanDy[BN_VECTORS], meanDyXhat[BN_VECTORS];
    #pragma unroll
    for (int v = 0; v < BN_VECTORS; ++v) {
        const int j = j0 + 16 * v;
        bn_store_block(gradBeta + j, s1[v], width[v]);
        bn_store_block(gradGamma + j, s2[v], width[v]);
        scale[v] = bn_load_block(gamma + j, width[v]) * inv[v];
        meanDy[v] = s1[v] / rowCount;
        meanDyXhat[v] = s2[v] / rowCount;
    }
    for (int i = 0; i < m; ++i) {
        #pragma unroll
        for (int v = 0; v < BN_VECTORS; ++v) {
            const int at = i * n + j0 + 16 * v;
            const float16 xhat = (bn_load_block(x + at, width[v]) - mu[v]) * inv[v];
            const float16 g = bn_backward_gradient(dy + at, z + at, relu, width[v]);
            bn_store_block(dx + at, scale[v] * (g - meanDy[v] - xhat * meanDyXhat[v]), width[v]);
        }
    }
}
