import NNCore

/// The unit a row is reported in, and how its work count converts to it.
enum RateUnit: String, Codable, Sendable {
    case gflops = "GFLOP/s"
    case gigabytes = "GB/s"
    case samples = "samples/s"

    /// Divisor from work-per-second to the unit.
    var scale: Double {
        switch self {
        case .gflops, .gigabytes: return 1e9
        case .samples: return 1
        }
    }
}

/// Which measured host ceiling a row is a fraction of.
enum CeilingKind: String, Codable, Sendable {
    /// GEMM: the FMA peak.
    case flops
    /// Memory-bound ops: the triad bandwidth.
    case bandwidth
    /// Whole training steps mix both; no single ceiling applies.
    case none
}

/// One benchmark case: what one call does, how much work it counts, and how to set it up on a backend.
struct Workload {
    /// The subcommand it belongs to ("gemm", "softmax", "batchnorm", "train").
    let suite: String
    /// The case, e.g. "512×512×512" or "dW = Xᵀ·dZ  784×512 (k 256)".
    let name: String
    /// The work model behind the rate, stated in every report (e.g. "2·m·n·k flops").
    let model: String
    let unit: RateUnit
    /// Flops, bytes or samples per call.
    let workPerCall: Double
    let ceiling: CeilingKind
    /// Allocates and fills the operands on `backend` and returns the call to time. Setup is not timed.
    let prepare: (any Backend) throws -> () throws -> Void
}

/// Reproducible operand values in [−1, 1) without Foundation: a 64-bit LCG (Knuth's MMIX constants),
/// top 24 bits as the mantissa. Benchmarks need plausible values (no denormals, no NaNs), not quality randomness.
func benchmarkValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (Float(state >> 40) * 0x1p-24 * 2 - 1) * scale
    }
}

extension Backend {
    /// A tensor of `shape` filled with reproducible values in [−scale, scale).
    func benchmarkTensor(_ shape: Shape, seed: UInt64, scale: Float = 1) throws -> Tensor {
        try makeTensor(benchmarkValues(shape.count, seed: seed, scale: scale), shape: shape)
    }
}
