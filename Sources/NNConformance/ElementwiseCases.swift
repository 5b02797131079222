import Foundation
import NNCore

/// fill, copy, scale, axpy, multiply, addRowVector and the activations, forward and backward.
enum ElementwiseCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(.elementwise, "fillAndCopy", fillAndCopy),
        ConformanceCase(.elementwise, "scaleAxpyMultiply", scaleAxpyMultiply),
        ConformanceCase(.elementwise, "addRowVector", addRowVector),
        ConformanceCase(.elementwise, "activationsForward", activationsForward),
        ConformanceCase(.elementwise, "activationsBackward", activationsBackward),
        ConformanceCase(.elementwise, "reluKeepsNaNAloneAndFused", reluKeepsNaNAloneAndFused),
    ]

    private static let shapes = [Shape(1, 1), Shape(7, 13), Shape(257, 129)]

    static func fillAndCopy(_ b: ConformanceContext) throws {
        for shape in shapes {
            let t = try b.backend.makeTensor(shape)
            b.expectEqual(try b.values(t), [Double](repeating: 0, count: shape.count), "[\(b.label)] makeTensor zeroes \(shape)")
            try b.backend.fill(t, with: -2.5)
            // Storing a representable constant is exact.
            assertClose(try b.values(t), [Double](repeating: -2.5, count: shape.count), .exact, "fill \(shape)", on: b)

            var rng = TestRandom(seed: UInt64(shape.count))
            let source = rng.normal(shape.count)
            // Copy into a tensor of another shape with the same element count: copy is by element order.
            let destination = try b.backend.makeTensor(Shape(shape.columns, shape.rows))
            try b.backend.copy(try b.tensor(shape.rows, shape.columns, source), to: destination)
            assertClose(try b.values(destination), source, .exact, "copy \(shape) to its transpose shape", on: b)
        }
    }

    static func scaleAxpyMultiply(_ b: ConformanceContext) throws {
        for shape in shapes {
            var rng = TestRandom(seed: 11 + UInt64(shape.count))
            let x = rng.normal(shape.count), y = rng.normal(shape.count)
            let n = shape.count

            let scaled = try b.tensor(shape.rows, shape.columns, x)
            try b.backend.scale(scaled, by: -0.3)
            // One rounding of α·x: |error| ≤ u·|result|.
            assertClose(try b.values(scaled), x.map { Double(Float(-0.3)) * $0 }, Tolerance(rtol: b.u), "scale \(shape)", on: b)

            let ty = try b.tensor(shape.rows, shape.columns, y)
            try b.backend.axpy(alpha: 1.7, try b.tensor(shape.rows, shape.columns, x), ty)
            let alpha = Double(Float(1.7))
            let expected = (0..<n).map { alpha * x[$0] + y[$0] }
            // fl(fl(α·x) + y): u·|α·x| from the product (absent with FMA) plus u·|result| from the sum.
            assertClose(try b.values(ty), expected,
                        Tolerance(atol: b.u * maxAbs(x.map { alpha * $0 }), rtol: b.u), "axpy \(shape)", on: b)

            let ta = try b.tensor(shape.rows, shape.columns, x)
            try b.backend.multiply(ta, try b.tensor(shape.rows, shape.columns, y), into: ta)  // out aliases a
            // One rounding of the product.
            assertClose(try b.values(ta), (0..<n).map { x[$0] * y[$0] }, Tolerance(rtol: b.u),
                        "multiply \(shape) (output aliasing the first operand)", on: b)
        }
    }

    static func addRowVector(_ b: ConformanceContext) throws {
        for shape in shapes {
            var rng = TestRandom(seed: 23 + UInt64(shape.count))
            let x = rng.normal(shape.count), bias = rng.normal(shape.columns)
            let tx = try b.tensor(shape.rows, shape.columns, x)
            try b.backend.addRowVector(try b.tensor(1, shape.columns, bias), to: tx)
            let expected = (0..<shape.count).map { x[$0] + bias[$0 % shape.columns] }
            // One rounding of the sum.
            assertClose(try b.values(tx), expected, Tolerance(rtol: b.u), "addRowVector \(shape)", on: b)
        }
    }

    /// Inputs that exercise every regime: saturation (±20, ±90), zero, tiny values, NaN (which every
    /// function passes through), and the bulk.
    private static func activationInputs(_ count: Int, seed: UInt64) -> [Double] {
        var rng = TestRandom(seed: seed)
        var x = rng.normal(count, sd: 2)
        let specials: [Double] = [0, -0.0, 1e-6, -1e-6, 20, -20, 90, -90, 0.5, -0.5, .nan]
        for (i, v) in specials.enumerated() where i < count { x[i] = Double(Float(v)) }
        return x
    }

    /// Forward tolerance per function. ReLU is exact (a comparison). tanh and the sigmoid go through
    /// transcendental functions whose error OpenCL 1.2 allows up to 5 ulp (tanh) and 3 ulp (exp) plus
    /// 2.5 ulp for a division; rtol = 8u covers that chain. atol = 2u: both map into [−1, 1], so an
    /// absolute error of two roundings at the output's scale is invisible to training and admits
    /// formulations (e.g. via exp) that lose relative accuracy near zero.
    private static func forwardTolerance(_ f: Activation, _ u: Double) -> Tolerance {
        f == .relu ? .exact : Tolerance(atol: 2 * u, rtol: 8 * u)
    }

    static func activationsForward(_ b: ConformanceContext) throws {
        for f in Activation.allCases {
            for shape in shapes {
                let x = activationInputs(shape.count, seed: 31 + UInt64(shape.count))
                let tx = try b.tensor(shape.rows, shape.columns, x)
                let ty = try b.backend.makeTensor(shape)
                try b.backend.activationForward(f, tx, into: ty)
                let expected = x.map { Reference.activation(f, $0) }
                assertClose(try b.values(ty), expected, forwardTolerance(f, b.u), "\(f) forward \(shape)", on: b)

                try b.backend.activationForward(f, tx, into: tx)  // y aliases x
                assertClose(try b.values(tx), expected, forwardTolerance(f, b.u), "\(f) forward in place \(shape)", on: b)
            }
        }
    }

    static func activationsBackward(_ b: ConformanceContext) throws {
        for f in Activation.allCases {
            for shape in shapes {
                var rng = TestRandom(seed: 41 + UInt64(shape.count))
                // Backward takes the forward *output*, so draw outputs from each function's range,
                // including exact zeros for ReLU (whose derivative there is 0).
                let y: [Double]
                switch f {
                case .relu: y = rng.uniform(shape.count, -1, 1).map { $0 < 0 ? 0 : $0 }
                case .tanh: y = rng.uniform(shape.count, -0.999, 0.999)
                case .sigmoid: y = rng.uniform(shape.count, 0.001, 0.999)
                }
                let dy = rng.normal(shape.count)
                let expected = (0..<shape.count).map { dy[$0] * Reference.activationDerivative(f, output: y[$0]) }
                // ReLU passes or zeroes dy: exact. tanh: dy·(1 − y²), sigmoid: dy·y·(1 − y) take three
                // roundings (rtol 4u); forming 1 − y² or y − y² cancels with an absolute error up to u
                // at the derivative's scale (≤ 1), times |dy|.
                let tolerance = f == .relu ? .exact : Tolerance(atol: 2 * b.u * maxAbs(dy), rtol: 4 * b.u)
                let ty = try b.tensor(shape.rows, shape.columns, y)
                let tdy = try b.tensor(shape.rows, shape.columns, dy)
                let tdx = try b.backend.makeTensor(shape)
                try b.backend.activationBackward(f, output: ty, gradOutput: tdy, into: tdx)
                assertClose(try b.values(tdx), expected, tolerance, "\(f) backward \(shape)", on: b)

                try b.backend.activationBackward(f, output: ty, gradOutput: tdy, into: tdy)  // dx aliases dy
                assertClose(try b.values(tdy), expected, tolerance, "\(f) backward in place \(shape)", on: b)
            }
        }
    }

    /// A NaN reaching a ReLU leaves it as NaN in every form the ReLU takes: the op alone (above, in
    /// activationsForward), the dense forward's fused GEMM epilogue, and the fused batch-norm forward
    /// in training and inference. Otherwise a diverging run could hide behind zeros instead of showing
    /// in its loss. Each check asserts exactly which outputs are NaN: a NaN in row r of A poisons row r
    /// of C, in column j of a training batch all of column j (through the batch mean), and in one
    /// element at inference that element alone.
    static func reluKeepsNaNAloneAndFused(_ b: ConformanceContext) throws {
        // 67×70 (k 33) runs a tiled GEMM's edge tiles; 9×10 with k = 1000 its split-K path.
        for (m, n, k) in [(67, 70, 33), (9, 10, 1000)] {
            var rng = TestRandom(seed: UInt64(m * n + k))
            var a = rng.normal(m * k)
            let poisoned: Set<Int> = [0, m - 1]
            for row in poisoned { a[row * k + k / 2] = .nan }
            let c = try b.backend.makeTensor(Shape(m, n))
            try b.backend.gemm(try b.tensor(m, k, a), transposeA: false, try b.tensor(k, n, rng.normal(k * n)),
                               transposeB: false, into: c, bias: try b.tensor(1, n, rng.normal(n)), relu: true)
            expectNaN(exactlyAt: { poisoned.contains($0 / n) }, in: try b.values(c),
                      "gemm + bias + ReLU \(m)×\(n) (k \(k)) with NaN in rows 0 and \(m - 1) of A", on: b)
        }
        // 7×13: scalar loops and tails; 300×96: whole float4 vectors and several row chunks (GPU shapes).
        for (m, n) in [(7, 13), (300, 96)] {
            var rng = TestRandom(seed: UInt64(m + n))
            var x = rng.normal(m * n)
            let nanElements = [0, n + 5, m * n - 1]
            for e in nanElements { x[e] = .nan }
            let gamma = try b.tensor(1, n, rng.uniform(n, 0.5, 2)), beta = try b.tensor(1, n, rng.normal(n))
            let runningVariance = try b.tensor(1, n, rng.uniform(n, 0.5, 2))
            let z = try b.backend.makeTensor(Shape(m, n))
            try b.backend.batchNormForwardInference(try b.tensor(m, n, x), gamma: gamma, beta: beta,
                                                    runningMean: try b.tensor(1, n, rng.normal(n)),
                                                    runningVariance: runningVariance, epsilon: 1e-5, output: z, relu: true)
            expectNaN(exactlyAt: { nanElements.contains($0) }, in: try b.values(z),
                      "batchNormForwardInference(relu) \(m)×\(n) with NaN at elements \(nanElements)", on: b)

            let nanColumns = Set(nanElements.map { $0 % n })
            try b.backend.batchNormForwardTraining(try b.tensor(m, n, x), gamma: gamma, beta: beta,
                                                   runningMean: try b.backend.makeTensor(.vector(n)),
                                                   runningVariance: runningVariance, averagingBeta: 0.9, epsilon: 1e-5,
                                                   output: z, savedMean: try b.backend.makeTensor(.vector(n)),
                                                   savedInverseStd: try b.backend.makeTensor(.vector(n)), relu: true)
            expectNaN(exactlyAt: { nanColumns.contains($0 % n) }, in: try b.values(z),
                      "batchNormForwardTraining(relu) \(m)×\(n) with NaN in columns \(nanColumns.sorted())", on: b)
        }
    }

    /// Fails unless `values[i]` is NaN exactly where `isExpected(i)`, naming the first mismatch.
    private static func expectNaN(exactlyAt isExpected: (Int) -> Bool, in values: [Double],
                                  _ what: String, on b: ConformanceContext) {
        let wrong = values.indices.filter { values[$0].isNaN != isExpected($0) }
        guard let first = wrong.first else { return }
        b.fail("[\(b.label)] \(what): \(wrong.count) outputs wrong, first at \(first): got \(values[first]), "
               + (isExpected(first) ? "expected NaN" : "expected a number"))
    }
}
