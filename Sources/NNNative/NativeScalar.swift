import Foundation

/// The element types the native backend stores and computes in: `Float` for training and
/// `Double` for gradient checking.
///
/// Every kernel is generic over this protocol and called only with concrete types from inside the
/// module, so under `-O` the compiler specialises each kernel for `Float` and `Double` and the hot
/// loops contain no protocol dispatch. The three vector types are 64, 32 and 16 bytes wide — one
/// AVX-512, AVX or SSE/NEON register — and back the GEMM tile kernels of each width.
protocol NativeScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable
where Vector64.Scalar == Self, Vector32.Scalar == Self, Vector16.Scalar == Self {
    associatedtype Vector64: SIMD & Sendable
    associatedtype Vector32: SIMD & Sendable
    associatedtype Vector16: SIMD & Sendable

    /// Conversion from the protocol's `Float` hyperparameters.
    init(_ value: Float)
    /// Widening used by every reduction: sums run in `Double` so that a float32 column sum over
    /// 10⁵ rows keeps ~15 significant digits instead of losing ~5 to rounding.
    var wide: Double { get }

    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self

    /// Element-wise exp, σ and tanh of a whole vector: ``VectorMath``'s polynomials for Float
    /// (≤ 3 ulp), libm per lane for Double, whose only use — gradient checking — needs its accuracy.
    static func exp(_ x: Vector64) -> Vector64
    static func sigmoid(_ x: Vector64) -> Vector64
    static func tanh(_ x: Vector64) -> Vector64
    /// Lane-wise maximum (either operand where one is NaN). Concrete per type: on generic SIMD
    /// types the comparison operators run lane by lane through the stack.
    static func laneMax(_ a: Vector64, _ b: Vector64) -> Vector64
    /// The lanes' sum, added in Double from 0 in lane order: an order stated, not `sum()`'s
    /// unspecified one, so that the C softmax loops (`nn_exp_row_avx2`) can give the same bits.
    static func wideSum(_ x: Vector64) -> Double
    /// Lane-wise widening, for Double accumulators of vector loops.
    static func widen(_ x: SIMD8<Self>) -> SIMD8<Double>
    /// The ReLU as the native backend computes it, x < 0 ? 0 : x (NaN and −0 pass through), and its
    /// backward, dy where the output y > 0, else 0: batch norm's fused ReLU. Concrete per type, as
    /// ``laneMax(_:_:)``.
    static func relu(_ x: SIMD8<Self>) -> SIMD8<Self>
    static func reluGradient(_ dy: SIMD8<Self>, output y: SIMD8<Self>) -> SIMD8<Self>
}

extension Float: NativeScalar {
    typealias Vector64 = SIMD16<Float>
    typealias Vector32 = SIMD8<Float>
    typealias Vector16 = SIMD4<Float>
    @inline(__always) var wide: Double { Double(self) }
    @inline(__always) static func exp(_ x: Float) -> Float { Foundation.exp(x) }
    @inline(__always) static func log(_ x: Float) -> Float { Foundation.log(x) }
    @inline(__always) static func log1p(_ x: Float) -> Float { Foundation.log1p(x) }
    @inline(__always) static func tanh(_ x: Float) -> Float { Foundation.tanh(x) }
    @inline(__always) static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.exp(x) }
    @inline(__always) static func sigmoid(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.sigmoid(x) }
    @inline(__always) static func tanh(_ x: SIMD16<Float>) -> SIMD16<Float> { VectorMath.tanh(x) }
    @inline(__always) static func laneMax(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        a.replacing(with: b, where: b .> a)
    }
    @inline(__always) static func wideSum(_ x: SIMD16<Float>) -> Double {
        var sum = 0.0
        for lane in x.indices { sum += Double(x[lane]) }
        return sum
    }
    @inline(__always) static func widen(_ x: SIMD8<Float>) -> SIMD8<Double> { SIMD8<Double>(x) }
    @inline(__always) static func relu(_ x: SIMD8<Float>) -> SIMD8<Float> { x.replacing(with: 0, where: x .< 0) }
    @inline(__always) static func reluGradient(_ dy: SIMD8<Float>, output y: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8<Float>().replacing(with: dy, where: y .> 0)
    }
}

extension Double: NativeScalar {
    typealias Vector64 = SIMD8<Double>
    typealias Vector32 = SIMD4<Double>
    typealias Vector16 = SIMD2<Double>
    @inline(__always) var wide: Double { self }
    @inline(__always) static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) static func log(_ x: Double) -> Double { Foundation.log(x) }
    @inline(__always) static func log1p(_ x: Double) -> Double { Foundation.log1p(x) }
    @inline(__always) static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    static func exp(_ x: SIMD8<Double>) -> SIMD8<Double> { lanewise(x, Foundation.exp) }
    static func sigmoid(_ x: SIMD8<Double>) -> SIMD8<Double> { lanewise(x) { 1 / (1 + Foundation.exp(-$0)) } }
    static func tanh(_ x: SIMD8<Double>) -> SIMD8<Double> { lanewise(x, Foundation.tanh) }
    @inline(__always) static func laneMax(_ a: SIMD8<Double>, _ b: SIMD8<Double>) -> SIMD8<Double> {
        a.replacing(with: b, where: b .> a)
    }
    @inline(__always) static func wideSum(_ x: SIMD8<Double>) -> Double {
        var sum = 0.0
        for lane in x.indices { sum += x[lane] }
        return sum
    }
    @inline(__always) static func widen(_ x: SIMD8<Double>) -> SIMD8<Double> { x }
    @inline(__always) static func relu(_ x: SIMD8<Double>) -> SIMD8<Double> { x.replacing(with: 0, where: x .< 0) }
    @inline(__always) static func reluGradient(_ dy: SIMD8<Double>, output y: SIMD8<Double>) -> SIMD8<Double> {
        SIMD8<Double>().replacing(with: dy, where: y .> 0)
    }

    private static func lanewise(_ x: SIMD8<Double>, _ f: (Double) -> Double) -> SIMD8<Double> {
        var y = SIMD8<Double>()
        for i in 0..<8 { y[i] = f(x[i]) }
        return y
    }
}
