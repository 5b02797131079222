// One fused kernel per update rule (the course's forms; see `UpdateRule` in NNCore). Every rule first
// folds the weight penalty into the gradient: g' = g + l2 * w + l1 * sign(w).

NN_INLINE float penalised(const float g, const float w, const float l2, const float l1) {
    return g + l2 * w + l1 * sign(w);
}

// One parameter's update per rule: the CPU-shape kernels run it per work-item, the GPU-shape ones on
// the count % 4 parameters their float4 loops leave.

// w <- w - lr * g'
NN_INLINE void sgd_at(const int i, __global float* w, const __global float* g, const float lr,
                      const float l2, const float l1) {
    w[i] -= lr * penalised(g[i], w[i], l2, l1);
}

// v <- beta v + (1 - beta) g';  w <- w - lr v
NN_INLINE void momentum_at(const int i, __global float* w, const __global float* g, __global float* v,
                           const float lr, const float beta, const float l2, const float l1) {
    const float vi = beta * v[i] + (1.0f - beta) * penalised(g[i], w[i], l2, l1);
    v[i] = vi;
    w[i] -= lr * vi;
}

// s <- beta s + (1 - beta) g'^2;  w <- w - lr g' / (sqrt(s) + eps)
NN_INLINE void rmsprop_at(const int i, __global float* w, const __global float* g, __global float* s,
                          const float lr, const float beta, const float eps, const float l2, const float l1) {
    const float gi = penalised(g[i], w[i], l2, l1);
    const float si = beta * s[i] + (1.0f - beta) * gi * gi;
    s[i] = si;
    w[i] -= lr * gi / (sqrt(si) + eps);
}

// m <- b1 m + (1 - b1) g';  v <- b2 v + (1 - b2) g'^2;
// w <- w - lr (m / c1) / (sqrt(v / c2) + eps), with the bias corrections c1 = 1 - b1^t and
// c2 = 1 - b2^t computed once on the host.
NN_INLINE void adam_at(const int i, __global float* w, const __global float* g, __global float* m, __global float* v,
                       const float lr, const float beta1, const float beta2, const float eps,
                       const float c1, const float c2, const float l2, const float l1) {
    const float gi = penalised(g[i], w[i], l2, l1);
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= lr * (mi / c1) / (sqrt(vi / c2) + eps);
}

__kernel void update_sgd(__global float* w, const __global float* g, const float lr,
                         const float l2, const float l1, const int count) {
    const int i = get_global_id(0);
    if (i < count) sgd_at(i, w, g, lr, l2, l1);
}

__kernel void update_momentum(__global float* w, const __global float* g, __global float* v,
                              const float lr, const float beta, const float l2, const float l1, const int count) {
    const int i = get_global_id(0);
    if (i < count) momentum_at(i, w, g, v, lr, beta, l2, l1);
}

__kernel void update_rmsprop(__global float* w, const __global float* g, __global float* s,
                             const float lr, const float beta, const float eps,
                             const float l2, const float l1, const int count) {
    const int i = get_global_id(0);
    if (i < count) rmsprop_at(i, w, g, s, lr, beta, eps, l2, l1);
}

__kernel void update_adam(__global float* w, const __global float* g, __global float* m, __global float* v,
                          const float lr, const float beta1, const float beta2, const float eps,
                          const float c1, const float c2, const float l2, const float l1, const int count) {
    const int i = get_global_id(0);
    if (i < count) adam_at(i, w, g, m, v, lr, beta1, beta2, eps, c1, c2, l2, l1);
}

// ---------------------------------------------------------------------------------------------
// GPU shape: the same updates as float4 grid-stride loops (LD4/ST4, FOR_VECTORS and FOR_TAIL from
// elementwise.cl), the last count % 4 parameters through the per-parameter forms above.

NN_INLINE float4 penalised4(const float4 g, const float4 w, const float l2, const float l1) {
    return g + l2 * w + l1 * sign(w);
}

// This work-item's share of each rule over one tensor of `count` parameters: the single-tensor
// kernels below and update_v4_multi run the same loops, so their results agree bit for bit.
NN_INLINE void sgd_v4(__global float* w, const __global float* g, const float lr,
                      const float l2, const float l1, const int count) {
    FOR_VECTORS(i, count) { const float4 wi = LD4(w, i); ST4(w, i) = wi - lr * penalised4(LD4(g, i), wi, l2, l1); }
    FOR_TAIL(i, count) sgd_at(i, w, g, lr, l2, l1);
}

NN_INLINE void momentum_v4(__global float* w, const __global float* g, __global float* v,
                           const float lr, const float beta, const float l2, const float l1, const int count) {
    FOR_VECTORS(i, count) {
        const float4 wi = LD4(w, i);
        const float4 vi = beta * LD4(v, i) + (1.0f - beta) * penalised4(LD4(g, i), wi, l2, l1);
        ST4(v, i) = vi;
        ST4(w, i) = wi - lr * vi;
    }
    FOR_TAIL(i, count) momentum_at(i, w, g, v, lr, beta, l2, l1);
}

NN_INLINE void rmsprop_v4(__global float* w, const __global float* g, __global float* s,
                          const float lr, const float beta, const float eps,
                          const float l2, const float l1, const int count) {
    FOR_VECTORS(i, count) {
        const float4 wi = LD4(w, i);
        const float4 gi = penalised4(LD4(g, i), wi, l2, l1);
        const float4 si = beta * LD4(s, i) + (1.0f - beta) * gi * gi;
        ST4(s, i) = si;
        ST4(w, i) = wi - lr * gi / (sqrt(si) + eps);
    }
    FOR_TAIL(i, count) rmsprop_at(i, w, g, s, lr, beta, eps, l2, l1);
}

NN_INLINE void adam_v4(__global float* w, const __global float* g, __global float* m, __global float* v,
                       const float lr, const float beta1, const float beta2, const float eps,
                       const float c1, const float c2, const float l2, const float l1, const int count) {
    FOR_VECTORS(i, count) {
        const float4 wi = LD4(w, i);
        const float4 gi = penalised4(LD4(g, i), wi, l2, l1);
        const float4 mi = beta1 * LD4(m, i) + (1.0f - beta1) * gi;
        const float4 vi = beta2 * LD4(v, i) + (1.0f - beta2) * gi * gi;
        ST4(m, i) = mi;
        ST4(v, i) = vi;
        ST4(w, i) = wi - lr * (mi / c1) / (sqrt(vi / c2) + eps);
    }
    FOR_TAIL(i, count) adam_at(i, w, g, m, v, lr, beta1, beta2, eps, c1, c2, l2, l1);
}

__kernel void update_sgd_v4(__global float* w, const __global float* g, const float lr,
                            const float l2, const float l1, const int count) {
    sgd_v4(w, g, lr, l2, l1, count);
}

__kernel void update_momentum_v4(__global float* w, const __global float* g, __global float* v,
                                 const float lr, const float beta, const float l2, const float l1, const int count) {
    momentum_v4(w, g, v, lr, beta, l2, l1, count);
}

__kernel void update_rmsprop_v4(__global float* w, const __global float* g, __global float* s,
                                const float lr, const float beta, const float eps,
                                const float l2, const float l1, const int count) {
    rmsprop_v4(w, g, s, lr, beta, eps, l2, l1, count);
}

__kernel void update_adam_v4(__global float* w, const __global float* g, __global float* m, __global float* v,
                             const float lr, const float beta1, const float beta2, const float eps,
                             const float c1, const float c2, const float l2, const float l1, const int count) {
    adam_v4(w, g, m, v, lr, beta1, beta2, eps, c1, c2, l2, l1, count);
}

// One rule on up to 8 tensors in one launch (a network's parameters, every step): dimension 1 of the
// launch picks the tensor, dimension 0 runs that rule's single-tensor loop over it. OpenCL 1.2 has no
// arrays of buffers, hence the fixed arity (`tensorsPerUpdateLaunch` in the backend); a slot past the
// last tensor has count 0. s and t are the rule's state (momentum's and RMSprop's in s, Adam's first
// and second moments in s and t); a rule with less state is passed some valid buffer it never reads.
// `rule` is uniform over the launch, so the switch costs no divergence. Eight slots take about 400 bytes of
// arguments (8-byte pointers), well within the 1024 every OpenCL device accepts
// (CL_DEVICE_MAX_PARAMETER_SIZE), and cover a network of 2 hidden layers with batch norm in one launch.
#define UPDATE_RULE_SGD 0
#define UPDATE_RULE_MOMENTUM 1
#define UPDATE_RULE_RMSPROP 2
#define UPDATE_RULE_ADAM 3
#define UPDATE_SLOT(k) __global float* w##k, const __global float* g##k, __global float* s##k, __global float* t##k, \
                       const int n##k, const float l2_##k, const float l1_##k
#define UPDATE_PICK(k) case k: w = w##k; g = g##k; s = s##k; t = t##k; count = n##k; l2 = l2_##k; l1 = l1_##k; break;

__kernel void update_v4_multi(UPDATE_SLOT(0), UPDATE_SLOT(1), UPDATE_SLOT(2), UPDATE_SLOT(3),
                              UPDATE_SLOT(4), UPDATE_SLOT(5), UPDATE_SLOT(6), UPDATE_SLOT(7),
                              const int rule, const float lr, const float beta1, const float beta2, const float eps,
                              const float c1, const float c2) {
    __global float* w = w0;
    const __global float* g = g0;
    __global float* s = s0;
    __global float* t = t0;
    int count = 0;
    float l2 = 0.0f, l1 = 0.0f;
    switch (get_global_id(1)) {
    UPDATE_PICK(0) UPDATE_PICK(1) UPDATE_PICK(2) UPDATE_PICK(3) UPDATE_PICK(4) UPDATE_PICK(5) UPDATE_PICK(6) UPDATE_PICK(7)
    default: break;
    }
    switch (rule) {
    case UPDATE_RULE_SGD: sgd_v4(w, g, lr, l2, l1, count); break;
    case UPDATE_RULE_MOMENTUM: momentum_v4(w, g, s, lr, beta1, l2, l1, count); break;
    case UPDATE_RULE_RMSPROP: rmsprop_v4(w, g, s, lr, beta1, eps, l2, l1, count); break;
    case UPDATE_RULE_ADAM: adam_v4(w, g, s, t, lr, beta1, beta2, eps, c1, c2, l2, l1, count); break;
    default: break;
    }
}
