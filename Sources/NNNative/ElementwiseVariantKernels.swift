import CNativeKernels

/// The C element-wise and softmax-row loops of the AVX2 and AVX-512 variants (``KernelVariant``), for Float.
/// Each gives the same bits as the Swift loop it stands in for (no fused multiply-adds; division
/// and square root are correctly rounded in every lane), so the variant changes speed, not results.
/// Callers pass their `T` pointers; these run only when ``applies(_:_:)`` said so, i.e. T is Float.
enum VectorKernels {
    /// Whether `kernels` has C loops for element type `T`.
    @inline(__always)
    static func applies<T>(_ kernels: KernelVariant, _: T.Type) -> Bool {
        kernels != .baseline && T.self == Float.self
    }

    @inline(__always)
    private static func float<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    /// Adam over `range` of the parameter; see NativeBackend's update for the formula.
    @inline(__always)
    static func adam<T: NativeScalar>(_ range: Range<Int>, w: UnsafeMutablePointer<T>, g: UnsafeMutablePointer<T>,
                                      m: UnsafeMutablePointer<T>, v: UnsafeMutablePointer<T>, l2: T, l1: T,
                                      beta1: T, beta2: T, epsilon: T, lr: T, correction1: T, correction2: T) {
        let o = range.lowerBound
        nn_adam_avx2(range.count, float(w + o), float(g + o), float(m + o), float(v + o),
                     Float(l2), Float(l1), Float(beta1), Float(beta2), Float(epsilon), Float(lr),
                     Float(correction1), Float(correction2))
    }

    @inline(__always)
    static func reluForward<T>(_ range: Range<Int>, x: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>) {
        nn_relu_forward_avx2(range.count, float(x + range.lowerBound), float(y + range.lowerBound))
    }

    /// The three activations' backward passes, by the C kernel's `kind` code.
    enum Backward: Int32 { case relu = 0, tanh = 1, sigmoid = 2 }

    @inline(__always)
    static func activationBackward<T>(_ kind: Backward, _ range: Range<Int>, y: UnsafeMutablePointer<T>,
                                      dy: UnsafeMutablePointer<T>, dx: UnsafeMutablePointer<T>) {
        let o = range.lowerBound
        nn_activation_backward_avx2(kind.rawValue, range.count, float(y + o), float(dy + o), float(dx + o))
    }

    /// The softmax row loops (``NativeBackend``'s rowMax, exponentiateRow and scaleRow), same bits.
    @inline(__always)
    static func rowMax<T: NativeScalar>(_ row: UnsafeMutablePointer<T>, _ n: Int) -> T {
        T(nn_row_max_avx2(n, float(row)))
    }

    @inline(__always)
    static func exponentiateRow<T: NativeScalar>(_ x: UnsafeMutablePointer<T>, into y: UnsafeMutablePointer<T>, _ n: Int,
                                                 top: T) -> Double {
        nn_exp_row_avx2(n, float(x), float(y), Float(top.wide))
    }

    @inline(__always)
    static func scaleRow<T: NativeScalar>(_ y: UnsafeMutablePointer<T>, _ n: Int, by factor: T) {
        nn_scale_row_avx2(n, float(y), Float(factor.wide))
    }
}
