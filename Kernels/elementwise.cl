// Element-wise kernels over flat float buffers of `count` elements. The host rounds the global size
// up to a multiple of one fixed work-group size (so a CPU driver compiles each kernel once), hence
// every kernel guards its index.

__kernel void fill(__global float* x, const float value, const int count) {
    const int i = get_global_id(0);
    if (i < count) x[i] = value;
}

__kernel void copy(const __global float* restrict from, __global float* restrict to, const int count) {
    const int i = get_global_id(0);
    if (i < count) to[i] = from[i];
}

__kernel void scale(__global float* x, const float alpha, const int count) {
    const int i = get_global_id(0);
    if (i < count) x[i] *= alpha;
}

// y <- alpha * x + y
__kernel void axpy(const float alpha, const __global float* x, __global float* y, const int count) {
    const int i = get_global_id(0);
    if (i < count) y[i] = fma(alpha, x[i], y[i]);
}

// out <- a * b; out may alias a or b (each element is read before it is written, by one work-item).
__kernel void multiply(const __global float* a, const __global float* b, __global float* out, const int count) {
    const int i = get_global_id(0);
    if (i < count) out[i] = a[i] * b[i];
}

// Logistic function without overflow: exp only ever sees a non-positive argument.
inline float stable_sigmoid(const float z) {
    const float e = exp(-fabs(z));
    return z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

__kernel void relu_forward(const __global float* x, __global float* y, const int count) {
    const int i = get_global_id(0);
    if (i < count) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__kernel void tanh_forward(const __global float* x, __global float* y, const int count) {
    const int i = get_global_id(0);
    if (i < count) y[i] = tanh(x[i]);
}

__kernel void sigmoid_forward(const __global float* x, __global float* y, const int count) {
    const int i = get_global_id(0);
    if (i < count) y[i] = stable_sigmoid(x[i]);
}

// Backward passes take the forward output y: relu' = [y > 0], tanh' = 1 - y^2, sigmoid' = y (1 - y).
__kernel void relu_backward(const __global float* y, const __global float* dy, __global float* dx, const int count) {
    const int i = get_global_id(0);
    if (i < count) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__kernel void tanh_backward(const __global float* y, const __global float* dy, __global float* dx, const int count) {
    const int i = get_global_id(0);
    if (i < count) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

__kernel void sigmoid_backward(const __global float* y, const __global float* dy, __global float* dx, const int count) {
    const int i = get_global_id(0);
    if (i < count) dx[i] = dy[i] * (y[i] * (1.0f - y[i]));
}
