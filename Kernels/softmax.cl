// Row-wise classifier heads. A work-group of (L, R) work-items serves R rows with L items per row
// (L * R == ROW_WG_ITEMS; the host uses (64, 1) for wide rows and (4, 16) for narrow ones, so a CPU
// driver compiles two variants at most). Each item strides over its row, then the row's items combine
// their values pairwise in local memory. Rows past m still take part in the barriers, idly.

#ifndef ROW_WG_ITEMS
#define ROW_WG_ITEMS 64
#endif

// Tree-combine one value per item across the L items of each row; returns the row's result to all.
inline float row_tree_max(__local float* scratch, const float v) {
    const int L = get_local_size(0), lx = get_local_id(0), base = get_local_id(1) * L;
    scratch[base + lx] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = L / 2; s > 0; s >>= 1) {
        if (lx < s) scratch[base + lx] = fmax(scratch[base + lx], scratch[base + lx + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = scratch[base];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

inline float row_tree_sum(__local float* scratch, const float v) {
    const int L = get_local_size(0), lx = get_local_id(0), base = get_local_id(1) * L;
    scratch[base + lx] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = L / 2; s > 0; s >>= 1) {
        if (lx < s) scratch[base + lx] += scratch[base + lx + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = scratch[base];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

// Max and sum of exp(x - max) of one row, shared by softmax and softmax cross-entropy.
inline float2 row_max_and_exp_sum(__local float* scratch, const __global float* xr, const int n, const int active) {
    const int L = get_local_size(0), lx = get_local_id(0);
    float mx = -INFINITY;
    if (active) for (int j = lx; j < n; j += L) mx = fmax(mx, xr[j]);
    mx = row_tree_max(scratch, mx);
    float s = 0.0f;
    if (active) for (int j = lx; j < n; j += L) s += exp(xr[j] - mx);
    s = row_tree_sum(scratch, s);
    return (float2)(mx, s);
}

// y = exp(x - max) / sum exp(x - max), per row; y may alias x.
__kernel void softmax_rows(const __global float* x, __global float* y, const int m, const int n) {
    __local float scratch[ROW_WG_ITEMS];
    const int row = get_group_id(1) * get_local_size(1) + get_local_id(1);
    const int active = row < m;
    const __global float* xr = x + (active ? row : 0) * n;
    const float2 ms = row_max_and_exp_sum(scratch, xr, n, active);
    if (!active) return;
    __global float* yr = y + row * n;
    for (int j = get_local_id(0); j < n; j += get_local_size(0)) yr[j] = exp(xr[j] - ms.x) / ms.y;
}

// Fused softmax + cross-entropy. grad = (softmax(z) - onehot(label)) / m; rowLoss[row] =
// log sum exp(z - max) - (z[label] - max), the log-sum-exp form that stays finite for any logits.
// A label that is not an integer in [0, n) gives a NaN loss (and no one-hot term in the gradient).
__kernel void softmax_xent(const __global float* logits, const __global float* labels, __global float* grad,
                           __global float* rowLoss, const int m, const int n, const float rowCount) {
    __local float scratch[ROW_WG_ITEMS];
    const int row = get_group_id(1) * get_local_size(1) + get_local_id(1);
    const int active = row < m;
    const __global float* zr = logits + (active ? row : 0) * n;
    const float2 ms = row_max_and_exp_sum(scratch, zr, n, active);
    if (!active) return;
    const float lf = labels[row];
    const int valid = lf >= 0.0f && lf < (float)n && floor(lf) == lf;
    const int label = valid ? (int)lf : -1;
    __global float* gr = grad + row * n;
    for (int j = get_local_id(0); j < n; j += get_local_size(0)) {
        const float p = exp(zr[j] - ms.x) / ms.y;
        gr[j] = (p - (j == label ? 1.0f : 0.0f)) / rowCount;
    }
    if (get_local_id(0) == 0) rowLoss[row] = valid ? log(ms.y) - (zr[label] - ms.x) : NAN;
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

// out[row] = index of the row's largest value, the first one on ties, as a float.
__kernel void argmax_rows(const __global float* x, __global float* out, const int m, const int n) {
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
            if (bi < 0 || v > bv) { bv = v; bi = j; }
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
            if (oi >= 0 && (mi < 0 || ov > mv || (ov == mv && oi < mi))) {
                bestValue[base + lx] = ov;
                bestIndex[base + lx] = oi;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (active && lx == 0) out[row] = (float)bestIndex[base];
}
