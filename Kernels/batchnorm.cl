// Batch normalisation per feature (= per column of a row-major m x n matrix), PyTorch BatchNorm1d
// numerics. Statistics are two-pass: the mean first (column_partials + column_finish from
// reduction.cl), then the sum of squared deviations from that mean, so a feature with a large mean
// and small spread (1e4 + N(0, 1)) keeps its variance. Column sums run over chunks of rows with
// Kahan compensation, and the chunks are combined in a second pass.

// partials[p * n + j] = sum over the rows of chunk p of (x[i, j] - mean[j])^2.
__kernel void bn_centered_square_partials(const __global float* x, const __global float* mean,
                                          const int m, const int n, const int rowsPerChunk,
                                          __global float* partials) {
    const int j = get_global_id(0);
    const int p = get_global_id(1);
    if (j >= n) return;
    const int r0 = p * rowsPerChunk;
    const int r1 = min(m, r0 + rowsPerChunk);
    const float mu = mean[j];
    float sum = 0.0f, comp = 0.0f;
    for (int i = r0; i < r1; ++i) {
        const float d = x[i * n + j] - mu;
        kahan_add(&sum, &comp, d * d);
    }
    partials[p * n + j] = sum;
}

// Biased variance -> saved 1/sqrt(var + eps); running statistics r <- beta r + (1 - beta) theta with
// the unbiased variance var * m / (m - 1) (var itself when m == 1).
__kernel void bn_finish_statistics(const __global float* partials, const int chunks, const int n, const int m,
                                   const float epsilon, const float averagingBeta,
                                   const __global float* mean, __global float* invStd,
                                   __global float* runningMean, __global float* runningVariance) {
    const int j = get_global_id(0);
    if (j >= n) return;
    float sum = 0.0f, comp = 0.0f;
    for (int p = 0; p < chunks; ++p) kahan_add(&sum, &comp, partials[p * n + j]);
    const float variance = sum / (float)m;
    invStd[j] = 1.0f / sqrt(variance + epsilon);
    const float unbiased = m > 1 ? sum / (float)(m - 1) : variance;
    runningMean[j] = averagingBeta * runningMean[j] + (1.0f - averagingBeta) * mean[j];
    runningVariance[j] = averagingBeta * runningVariance[j] + (1.0f - averagingBeta) * unbiased;
}

// y = gamma (x - mean) invStd + beta, flattened over count = m * n elements.
__kernel void bn_normalize(const __global float* x, const __global float* mean, const __global float* invStd,
                           const __global float* gamma, const __global float* beta, __global float* y,
                           const int n, const int count) {
    const int i = get_global_id(0);
    if (i >= count) return;
    const int j = i % n;
    y[i] = fma(gamma[j], (x[i] - mean[j]) * invStd[j], beta[j]);
}

// Evaluation mode: running statistics instead of the batch's.
__kernel void bn_inference(const __global float* x, const __global float* runningMean,
                           const __global float* runningVariance, const __global float* gamma,
                           const __global float* beta, const float epsilon, __global float* y,
                           const int n, const int count) {
    const int i = get_global_id(0);
    if (i >= count) return;
    const int j = i % n;
    const float inv = 1.0f / sqrt(runningVariance[j] + epsilon);
    y[i] = fma(gamma[j], (x[i] - runningMean[j]) * inv, beta[j]);
}

// Per chunk of rows: sum of dy and sum of dy * xhat with xhat = (x - mean) invStd.
__kernel void bn_backward_partials(const __global float* x, const __global float* dy,
                                   const __global float* mean, const __global float* invStd,
                                   const int m, const int n, const int rowsPerChunk,
                                   __global float* partialsDy, __global float* partialsDyXhat) {
    const int j = get_global_id(0);
    const int p = get_global_id(1);
    if (j >= n) return;
    const int r0 = p * rowsPerChunk;
    const int r1 = min(m, r0 + rowsPerChunk);
    const float mu = mean[j], inv = invStd[j];
    float s1 = 0.0f, c1 = 0.0f, s2 = 0.0f, c2 = 0.0f;
    for (int i = r0; i < r1; ++i) {
        const float g = dy[i * n + j];
        kahan_add(&s1, &c1, g);
        kahan_add(&s2, &c2, g * ((x[i * n + j] - mu) * inv));
    }
    partialsDy[p * n + j] = s1;
    partialsDyXhat[p * n + j] = s2;
}

// dbeta = sum dy, dgamma = sum dy * xhat (overwritten).
__kernel void bn_backward_finish(const __global float* partialsDy, const __global float* partialsDyXhat,
                                 const int chunks, const int n,
                                 __global float* gradGamma, __global float* gradBeta) {
    const int j = get_global_id(0);
    if (j >= n) return;
    float s1 = 0.0f, c1 = 0.0f, s2 = 0.0f, c2 = 0.0f;
    for (int p = 0; p < chunks; ++p) {
        kahan_add(&s1, &c1, partialsDy[p * n + j]);
        kahan_add(&s2, &c2, partialsDyXhat[p * n + j]);
    }
    gradBeta[j] = s1;
    gradGamma[j] = s2;
}

// dx = (gamma invStd) (dy - dbeta / m - xhat dgamma / m). dx may alias dy.
__kernel void bn_backward_dx(const __global float* x, const __global float* dy,
                             const __global float* mean, const __global float* invStd,
                             const __global float* gamma, const __global float* gradGamma,
                             const __global float* gradBeta, const float rowCount,
                             __global float* dx, const int n, const int count) {
    const int i = get_global_id(0);
    if (i >= count) return;
    const int j = i % n;
    const float inv = invStd[j];
    const float xhat = (x[i] - mean[j]) * inv;
    dx[i] = gamma[j] * inv * (dy[i] - gradBeta[j] / rowCount - xhat * gradGamma[j] / rowCount);
}
