import ArgumentParser
import Foundation
import NNOpenCL

/// `nnbench tune`: runs the GEMM autotuner on the selected OpenCL device and stores the winner, which
/// every later OpenCL backend on that device (nn, nnbench, the tests) picks up from the cache.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Autotune the OpenCL GEMM tile sizes for a device and cache the winner.",
        discussion: """
            Each candidate is checked against a Float64 reference product (every transpose, the narrow, \
            edge and split-K paths) and rejected if wrong, then timed. CPU drivers: a few vector-family \
            block shapes, timed on 512³ and the MLP layer shapes. GPUs: a fixed-seed sample of the tiled \
            family's CLBlast-style space, pruned by the device's limits, per shape class (square: 2048³; \
            skinny: the batch-256 MLP layers), about a minute per class. The winners go to \
            \(GemmAutotuner.cacheURL.path) (NN_GEMM_TUNING_CACHE overrides), keyed by device, driver, \
            kernel source and shape class; NN_GEMM_TUNING=off makes backends ignore them.
            """)

    @Option(help: "OpenCL device: an index or part of a name, as `nn devices` lists them. Default: NN_OPENCL_DEVICE, else the first GPU, else the first device.")
    var device: String?

    func run() throws {
        print(try Self.tune(device: device))
    }

    /// Tunes, reporting each candidate on standard error as it finishes, and returns the full report.
    static func tune(device: String?) throws -> GemmAutotuner.Report {
        try GemmAutotuner.tune(deviceSelector: device) { result in
            FileHandle.standardError.write(Data(("  measured " + result.summary + "\n").utf8))
        }
    }
}
