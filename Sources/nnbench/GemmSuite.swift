import NNCore

/// GEMM cases: square products and the three layers of the Fashion-MNIST MLP (784-512-256-10 at
/// batch 256) in the three forms a training step runs — forward Z = X·W, weight gradient
/// dW = Xᵀ·dZ, input gradient dX = dZ·Wᵀ — so both transposed operand paths are timed.
/// Weights are stored in × out here; a backend that stores them out × in swaps the roles, which
/// leaves the same three (m, n, k) shapes with the transposes on the other operand.
enum GemmSuite {
    static let defaultSizes = [256, 512, 1024]
    /// (batch, fan-in, fan-out) of each MLP layer.
    static let mlpLayers = [(256, 784, 512), (256, 512, 256), (256, 256, 10)]
    static let model = "2·m·n·k flops"

    static func workloads(squareSizes: [Int], includeMLP: Bool) -> [Workload] {
        var cases: [Workload] = squareSizes.map { n in
            product(name: "\(n)×\(n)×\(n)  C = A·B", m: n, n: n, k: n,
                    a: Shape(n, n), transposeA: false, b: Shape(n, n), transposeB: false)
        }
        guard includeMLP else { return cases }
        for (batch, fanIn, fanOut) in mlpLayers {
            let x = Shape(batch, fanIn), w = Shape(fanIn, fanOut), dz = Shape(batch, fanOut)
            cases.append(product(name: "(\(batch)×\(fanIn))·(\(fanIn)×\(fanOut))  Z = X·W",
                                 m: batch, n: fanOut, k: fanIn, a: x, transposeA: false, b: w, transposeB: false))
            cases.append(product(name: "(\(fanIn)×\(batch))·(\(batch)×\(fanOut))  dW = Xᵀ·dZ",
                                 m: fanIn, n: fanOut, k: batch, a: x, transposeA: true, b: dz, transposeB: false))
            cases.append(product(name: "(\(batch)×\(fanOut))·(\(fanOut)×\(fanIn))  dX = dZ·Wᵀ",
                                 m: batch, n: fanIn, k: fanOut, a: dz, transposeA: false, b: w, transposeB: true))
        }
        return cases
    }

    private static func product(name: String, m: Int, n: Int, k: Int,
                                a aShape: Shape, transposeA: Bool, b bShape: Shape, transposeB: Bool) -> Workload {
        Workload(suite: "gemm", name: name, model: model, unit: .gflops,
                 workPerCall: 2 * Double(m) * Double(n) * Double(k), ceiling: .flops) { backend in
            let a = try backend.benchmarkTensor(aShape, seed: 1)
            let b = try backend.benchmarkTensor(bShape, seed: 2)
            let c = try backend.makeTensor(Shape(m, n))
            return { try backend.gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: 1, beta: 0) }
        }
    }
}
