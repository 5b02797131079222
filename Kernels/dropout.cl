// Inverted dropout with Philox4x32-10, bit-identical to NNCore's `Philox` (Sources/NNCore/Philox.swift):
// element i uses counter (offset + i/4) split into low and high words, counter words 2 and 3 zero,
// key = (seed low, seed high), and takes word i % 4 of the block; u = (word >> 8) * 2^-24 is exact in
// float, so `u < keep` decides identically on every device. Each work-item computes one block and
// serves its four elements.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

NN_INLINE uint4 philox4x32_10(uint4 c, uint2 k) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) { k.x += PHILOX_W0; k.y += PHILOX_W1; }
        const uint hi0 = mul_hi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        const uint hi1 = mul_hi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

// mask[i] <- (u_i < keep) ? invKeep : 0;  y[i] <- x[i] * mask[i]. y may alias x.
__kernel void dropout_forward(const __global float* x, __global float* mask, __global float* y,
                              const float keep, const float invKeep,
                              const uint seedLo, const uint seedHi, const uint offsetLo, const uint offsetHi,
                              const int count) {
    const int blockIndex = get_global_id(0);
    const int first = blockIndex * 4;
    if (first >= count) return;
    const ulong counter = (((ulong)offsetHi << 32) | (ulong)offsetLo) + (ulong)blockIndex;
    const uint4 w = philox4x32_10((uint4)((uint)counter, (uint)(counter >> 32), 0u, 0u), (uint2)(seedLo, seedHi));
    const uint words[4] = { w.x, w.y, w.z, w.w };
    for (int e = 0; e < 4 && first + e < count; ++e) {
        const float u = (float)(words[e] >> 8) * 0x1.0p-24f;
        const float m = u < keep ? invKeep : 0.0f;
        mask[first + e] = m;
        y[first + e] = x[first + e] * m;
    }
}

// GPU shape: the same draw, grid-stride over the Philox blocks, each block's four elements one float4
// (the last, partial block element by element). Bit-identical to dropout_forward.
__kernel void dropout_forward_v4(const __global float* x, __global float* mask, __global float* y,
                                 const float keep, const float invKeep,
                                 const uint seedLo, const uint seedHi, const uint offsetLo, const uint offsetHi,
                                 const int count) {
    const ulong offset = ((ulong)offsetHi << 32) | (ulong)offsetLo;
    for (int blockIndex = get_global_id(0); blockIndex * 4 < count; blockIndex += get_global_size(0)) {
        const ulong counter = offset + (ulong)blockIndex;
        const uint4 w = philox4x32_10((uint4)((uint)counter, (uint)(counter >> 32), 0u, 0u), (uint2)(seedLo, seedHi));
        const float4 u = convert_float4(w >> 8) * 0x1.0p-24f;   // < 2^24: exact in float, as in the scalar kernel
        const float4 m = select((float4)(0.0f), (float4)(invKeep), u < keep);
        const int first = blockIndex * 4;
        if (first + 4 <= count) {
            ST4(mask, blockIndex) = m;
            ST4(y, blockIndex) = LD4(x, blockIndex) * m;
        } else {
            // Lanes picked by value, not from an array indexed at run time, which GPUs keep in slow private memory.
            for (int e = 0; first + e < count; ++e) {
                const float lane = e == 0 ? m.x : (e == 1 ? m.y : m.z);
                mask[first + e] = lane;
                y[first + e] = x[first + e] * lane;
            }
        }
    }
}
