// Element-wise kernels over flat float buffers of `count` elements, in two shapes:
// - CPU shape (the plain names): one element per work-item. The host rounds the global size up to a
//   multiple of one fixed work-group size (so a CPU driver compiles each kernel once), hence every
//   kernel guards its index.
// - GPU shape (the `_v4` names, at the end): a grid-stride loop over float4 vectors, then the last
//   count % 4 elements one by one, so a launch of a few work-groups per compute unit covers any
//   count with 16-byte loads. Same arithmetic per element as the CPU shape.

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
NN_INLINE float stable_sigmoid(const float z) {
    const float e = exp(-fabs(z));
    return z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

__kernel void relu_forward(const __global float* x, __global float* y, const int count) {
    const int i = get_global_id(0);
    if (i < count) y[i] = x[i] < 0.0f ? 0.0f : x[i];
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

// ---------------------------------------------------------------------------------------------
// GPU shape. Device buffers start at least 16-byte aligned (CL_DEVICE_MEM_BASE_ADDR_ALIGN), and every
// tensor is a whole buffer, so vector i of a buffer is aligned; the casts tell the compiler so (vload4
// only promises 4-byte alignment, which some GPU compilers turn into four scalar loads).
#define LD4(p, i) (((const __global float4*)(p))[i])
#define ST4(p, i) (((__global float4*)(p))[i])
#define FOR_VECTORS(i, count) for (int i = get_global_id(0); i < (count) / 4; i += get_global_size(0))
#define FOR_TAIL(i, count) for (int i = ((count) / 4) * 4 + get_global_id(0); i < (count); i += get_global_size(0))

__kernel void fill_v4(__global float* x, const float value, const int count) {
    FOR_VECTORS(i, count) ST4(x, i) = (float4)(value);
    FOR_TAIL(i, count) x[i] = value;
}

__kernel void copy_v4(const __global float* restrict from, __global float* restrict to, const int count) {
    FOR_VECTORS(i, count) ST4(to, i) = LD4(from, i);
    FOR_TAIL(i, count) to[i] = from[i];
}

__kernel void scale_v4(__global float* x, const float alpha, const int count) {
    FOR_VECTORS(i, count) ST4(x, i) = LD4(x, i) * alpha;
    FOR_TAIL(i, count) x[i] *= alpha;
}

__kernel void axpy_v4(const float alpha, const __global float* x, __global float* y, const int count) {
    FOR_VECTORS(i, count) ST4(y, i) = fma((float4)(alpha), LD4(x, i), LD4(y, i));
    FOR_TAIL(i, count) y[i] = fma(alpha, x[i], y[i]);
}

__kernel void multiply_v4(const __global float* a, const __global float* b, __global float* out, const int count) {
    FOR_VECTORS(i, count) ST4(out, i) = LD4(a, i) * LD4(b, i);
    FOR_TAIL(i, count) out[i] = a[i] * b[i];
}

NN_INLINE float4 stable_sigmoid4(const float4 z) {
    const float4 e = exp(-fabs(z));
    return select(e / (1.0f + e), 1.0f / (1.0f + e), z >= 0.0f);
}

// select(a, b, c) is c ? b : a per lane, as the scalar kernels' conditionals (NaN < 0 is false: NaN stays).
__kernel void relu_forward_v4(const __global float* x, __global float* y, const int count) {
    FOR_VECTORS(i, count) { const float4 v = LD4(x, i); ST4(y, i) = select(v, (float4)(0.0f), v < 0.0f); }
    FOR_TAIL(i, count) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

__kernel void tanh_forward_v4(const __global float* x, __global float* y, const int count) {
    FOR_VECTORS(i, count) ST4(y, i) = tanh(LD4(x, i));
    FOR_TAIL(i, count) y[i] = tanh(x[i]);
}

__kernel void sigmoid_forward_v4(const __global float* x, __global float* y, const int count) {
    FOR_VECTORS(i, count) ST4(y, i) = stable_sigmoid4(LD4(x, i));
    FOR_TAIL(i, count) y[i] = stable_sigmoid(x[i]);
}

__kernel void relu_backward_v4(const __global float* y, const __global float* dy, __global float* dx, const int count) {
    FOR_VECTORS(i, count) ST4(dx, i) = select((float4)(0.0f), LD4(dy, i), LD4(y, i) > 0.0f);
    FOR_TAIL(i, count) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__kernel void tanh_backward_v4(const __global float* y, const __global float* dy, __global float* dx, const int count) {
    FOR_VECTORS(i, count) { const float4 v = LD4(y, i); ST4(dx, i) = LD4(dy, i) * (1.0f - v * v); }
    FOR_TAIL(i, count) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

__kernel void sigmoid_backward_v4(const __global float* y, const __global float* dy, __global float* dx, const int count) {
    FOR_VECTORS(i, count) { const float4 v = LD4(y, i); ST4(dx, i) = LD4(dy, i) * (v * (1.0f - v)); }
    FOR_TAIL(i, count) dx[i] = dy[i] * (y[i] * (1.0f - y[i]));
}
