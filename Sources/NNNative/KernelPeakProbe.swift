import CNativeKernels

/// The FMA peak of a kernel variant's instruction set, for benchmarks: what the C kernels can
/// reach, independent of what the Swift code was compiled for.
public enum KernelPeakProbe {
    /// Runs 8 independent chains of 16-lane fused multiply-adds (c ← c·multiplier + addend) for
    /// `iterations` steps on `variant`'s instructions — 2·8·16·iterations flops — and returns their
    /// sum. Nil for baseline, which has no C probe (the Swift probe measures it).
    public static func fusedChains(_ variant: KernelVariant, iterations: Int, multiplier: Float, addend: Float) -> Float? {
        guard variant.isSupported else { return nil }
        switch variant {
        case .baseline: return nil
        case .avx2: return nn_fma_chains_avx2(iterations, multiplier, addend)
        case .avx512: return nn_fma_chains_avx512(iterations, multiplier, addend)
        }
    }
}
