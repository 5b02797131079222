import NNCore

/// Element-wise ops: each is one pass over memory, split into contiguous ranges across threads
/// for large tensors. Loops run over raw pointers so the optimiser vectorises them.
extension NativeBackend {
    public func uncheckedFill(_ x: Tensor, with value: Float) throws {
        switch precision {
        case .float32: try fill(Float.self, x, value)
        case .float64: try fill(Double.self, x, value)
        }
    }

    public func uncheckedCopy(_ from: Tensor, to: Tensor) throws {
        switch precision {
        case .float32: try copy(Float.self, from, to)
        case .float64: try copy(Double.self, from, to)
        }
    }

    public func uncheckedScale(_ x: Tensor, by alpha: Float) throws {
        switch precision {
        case .float32: try scale(Float.self, x, alpha)
        case .float64: try scale(Double.self, x, alpha)
        }
    }

    public func uncheckedAxpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        switch precision {
        case .float32: try axpy(Float.self, alpha, x, y)
        case .float64: try axpy(Double.self, alpha, x, y)
        }
    }

    public func uncheckedMultiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws {
        switch precision {
        case .float32: try multiply(Float.self, a, b, out)
        case .float64: try multiply(Double.self, a, b, out)
        }
    }

    public func uncheckedActivationForward(_ activation: Activation, _ x: Tensor, into y: Tensor) throws {
        switch precision {
        case .float32: try activationForward(Float.self, activation, x, y)
        case .float64: try activationForward(Double.self, activation, x, y)
        }
    }

    public func uncheckedActivationBackward(_ activation: Activation, output y: Tensor, gradOutput dy: Tensor, into dx: Tensor) throws {
        switch precision {
        case .float32: try activationBackward(Float.self, activation, y, dy, dx)
        case .float64: try activationBackward(Double.self, activation, y, dy, dx)
        }
    }

    // MARK: Kernels

    private func fill<T: NativeScalar>(_: T.Type, _ x: Tensor, _ value: Float) throws {
        let p = SendablePointer(try pointer(x, T.self, "fill"))
        let v = T(value)
        splitter.forEachRange(x.count) { r in
            (p.p + r.lowerBound).update(repeating: v, count: r.count)
        }
    }

    private func copy<T: NativeScalar>(_: T.Type, _ from: Tensor, _ to: Tensor) throws {
        let src = SendablePointer(try pointer(from, T.self, "copy"))
        let dst = SendablePointer(try pointer(to, T.self, "copy"))
        guard src.p != dst.p else { return }
        splitter.forEachRange(from.count) { r in
            (dst.p + r.lowerBound).update(from: src.p + r.lowerBound, count: r.count)
        }
    }

    private func scale<T: NativeScalar>(_: T.Type, _ x: Tensor, _ alpha: Float) throws {
        let p = SendablePointer(try pointer(x, T.self, "scale"))
        let a = T(alpha)
        splitter.forEachRange(x.count) { r in
            for i in r { p.p[i] *= a }
        }
    }

    private func axpy<T: NativeScalar>(_: T.Type, _ alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        let xp = SendablePointer(try pointer(x, T.self, "axpy"))
        let yp = SendablePointer(try pointer(y, T.self, "axpy"))
        let a = T(alpha)
        splitter.forEachRange(x.count) { r in
            for i in r { yp.p[i] += a * xp.p[i] }
        }
    }

    private func multiply<T: NativeScalar>(_: T.Type, _ a: Tensor, _ b: Tensor, _ out: Tensor) throws {
        let ap = SendablePointer(try pointer(a, T.self, "multiply"))
        let bp = SendablePointer(try pointer(b, T.self, "multiply"))
        let op = SendablePointer(try pointer(out, T.self, "multiply"))
        splitter.forEachRange(a.count) { r in
            for i in r { op.p[i] = ap.p[i] * bp.p[i] }
        }
    }

    func addRowVector<T: NativeScalar>(_: T.Type, _ bias: Tensor, _ x: Tensor) throws {
        let bp = SendablePointer(try pointer(bias, T.self, "addRowVector"))
        let xp = SendablePointer(try pointer(x, T.self, "addRowVector"))
        let n = x.columns
        splitter.forEachRange(x.rows, costPerItem: n) { rows in
            for i in rows {
                let row = xp.p + i * n
                for j in 0..<n { row[j] += bp.p[j] }
            }
        }
    }

    private func activationForward<T: NativeScalar>(_: T.Type, _ activation: Activation, _ x: Tensor, _ y: Tensor) throws {
        let xp = SendablePointer(try pointer(x, T.self, "activationForward"))
        let yp = SendablePointer(try pointer(y, T.self, "activationForward"))
        let vectorised = VectorKernels.applies(kernels, T.self)
        switch activation {
        case .relu:
            splitter.forEachRange(x.count) { r in
                if vectorised { return VectorKernels.reluForward(r, x: xp.p, y: yp.p) }
                // `x < 0 ? 0 : x` rather than max(x, 0), so that a NaN propagates instead of becoming 0.
                for i in r { let v = xp.p[i]; yp.p[i] = v < 0 ? 0 : v }
            }
        case .tanh:
            splitter.forEachRange(x.count, costPerItem: 4, granularity: T.Vector64.scalarCount) { r in
                Self.map(xp.p, yp.p, r) { T.tanh($0) }
            }
        case .sigmoid:
            splitter.forEachRange(x.count, costPerItem: 4, granularity: T.Vector64.scalarCount) { r in
                // exp(−x) overflows to +∞ for very negative x, giving exactly 0: no NaN path.
                Self.map(xp.p, yp.p, r) { T.sigmoid($0) }
            }
        }
    }

    /// y[i] = f(x[i]) over `range`, one vector at a time (the tail as a partial vector).
    @inline(__always)
    private static func map<T: NativeScalar>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ range: Range<Int>,
                                             _ f: (T.Vector64) -> T.Vector64) {
        var i = range.lowerBound
        while i < range.upperBound {
            let count = range.upperBound - i
            f(T.Vector64.load(x + i, count: count, padding: 0)).store(to: y + i, count: count)
            i += T.Vector64.scalarCount
        }
    }

    private func activationBackward<T: NativeScalar>(_: T.Type, _ activation: Activation,
                                                     _ y: Tensor, _ dy: Tensor, _ dx: Tensor) throws {
        let yp = SendablePointer(try pointer(y, T.self, "activationBackward"))
        let dyp = SendablePointer(try pointer(dy, T.self, "activationBackward"))
        let dxp = SendablePointer(try pointer(dx, T.self, "activationBackward"))
        let vectorised = VectorKernels.applies(kernels, T.self)
        switch activation {
        case .relu:
            splitter.forEachRange(y.count) { r in
                if vectorised { return VectorKernels.activationBackward(.relu, r, y: yp.p, dy: dyp.p, dx: dxp.p) }
                for i in r { dxp.p[i] = yp.p[i] > 0 ? dyp.p[i] : 0 }
            }
        case .tanh:
            splitter.forEachRange(y.count) { r in
                if vectorised { return VectorKernels.activationBackward(.tanh, r, y: yp.p, dy: dyp.p, dx: dxp.p) }
                for i in r { let v = yp.p[i]; dxp.p[i] = dyp.p[i] * (1 - v * v) }
            }
        case .sigmoid:
            splitter.forEachRange(y.count) { r in
                if vectorised { return VectorKernels.activationBackward(.sigmoid, r, y: yp.p, dy: dyp.p, dx: dxp.p) }
                for i in r { let v = yp.p[i]; dxp.p[i] = dyp.p[i] * (v * (1 - v)) }
            }
        }
    }
}
