/// Vectorised exp for Float, so that softmax, the sigmoid and tanh stream at memory speed instead
/// of one libm call per element (~1.4 GB/s for softmax before).
///
/// e^x = 2ⁿ·e^r with n = round(x·log₂e) and r = x − n·ln2 (Cody–Waite: ln2 split so that n·ln2_hi
/// is exact), |r| ≤ ln2/2. e^r is the degree-7 Taylor polynomial, whose truncation error
/// r⁸/8! ≤ 5.2e-9 is 0.09 ulp relative. Measured against Double `exp` on 2·10⁷ points over
/// [−104, 88.7]: at most 1.21 ulp for normal results (the tests' and OpenCL's bound is 3 ulp).
/// Edges: x > 88.72284 → +∞; x < −103.97208 → 0; results between are scaled in two steps
/// (2^⌊n/2⌋·2^⌈n/2⌉), so subnormal results come out gradually as libm's do; NaN stays NaN.
enum VectorMath {
    @inline(__always)
    static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        typealias V = SIMD16<Float>
        let overflow = x .> V(repeating: 88.72284), underflow = x .< V(repeating: -103.97208)
        // Lane selects rather than `clamped`, whose generic form checks its bounds lane by lane.
        let xc = x.replacing(with: 88.72284, where: overflow).replacing(with: -103.97208, where: underflow)
        // round(x·log₂e) by the 1.5·2²³ trick: adding it leaves n in the low mantissa bits.
        let shifter = V(repeating: 12_582_912)
        let t = xc * V(repeating: 1.442_695_04) + shifter
        let n = t - shifter
        let r = (xc - n * V(repeating: 0.693_359_375)) - n * V(repeating: -2.121_944_4e-4)
        var p = V(repeating: 1.0 / 5040)
        p = p * r + V(repeating: 1.0 / 720)
        p = p * r + V(repeating: 1.0 / 120)
        p = p * r + V(repeating: 1.0 / 24)
        p = p * r + V(repeating: 1.0 / 6)
        p = p * r + V(repeating: 0.5)
        p = p * r + V(repeating: 1)
        p = p * r + V(repeating: 1)
        let ni = unsafeBitCast(t, to: SIMD16<Int32>.self) &- unsafeBitCast(shifter, to: SIMD16<Int32>.self)
        let half = ni &>> 1
        let low = unsafeBitCast((half &+ 127) &<< 23, to: V.self)
        let high = unsafeBitCast((ni &- half &+ 127) &<< 23, to: V.self)
        var result = p * low * high
        result.replace(with: .infinity, where: overflow)
        result.replace(with: 0, where: underflow)
        result.replace(with: x, where: x .!= x)
        return result
    }

    /// σ(x) = 1/(1 + e^−x): e^−x overflows to +∞ for x < −88.7, giving exactly 0; no NaN path.
    /// Measured: ≤ 2.1 ulp over [−12, 12] (2·10⁷ points against Double).
    @inline(__always)
    static func sigmoid(_ x: SIMD16<Float>) -> SIMD16<Float> {
        1 / (1 + exp(-x))
    }

    /// tanh: an odd Taylor polynomial to x¹¹ for |x| < 0.25 (truncation ≤ 1e-8 relative), else
    /// sign(x)·(1 − e)/(1 + e) with e = e^−2|x| ≤ e^−0.5, where 1 − e ≥ 0.39 cancels at most
    /// ~1.5 ulp. Measured: ≤ 2.7 ulp over [−12, 12] (OpenCL allows 5); saturates to ±1, keeps NaN.
    @inline(__always)
    static func tanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
        typealias V = SIMD16<Float>
        let ax = x.replacing(with: -x, where: x .< 0)
        let e = exp(-2 * ax)
        var large = (1 - e) / (1 + e)
        large.replace(with: -large, where: x .< 0)
        let x2 = x * x
        var p = V(repeating: -1382.0 / 155_925)
        p = p * x2 + V(repeating: 62.0 / 2835)
        p = p * x2 + V(repeating: -17.0 / 315)
        p = p * x2 + V(repeating: 2.0 / 15)
        p = p * x2 + V(repeating: -1.0 / 3)
        let small = x + x * x2 * p
        return small.replacing(with: large, where: ax .>= 0.25)
    }
}
