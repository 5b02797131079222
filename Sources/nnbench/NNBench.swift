import ArgumentParser
import Foundation
import NNCore
import NNOpenCL

/// `nnbench`: throughput of the SwiftNN backends, side by side, against this machine's own ceilings.
struct NNBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nnbench",
        abstract: "Measure SwiftNN backend throughput against this machine's FMA peak and memory bandwidth.",
        discussion: """
            Every figure is the median (with min and max) of --runs timed runs after --warmup untimed ones; \
            a run repeats the kernel until it lasts --min-time and synchronises the device inside the timed \
            region. GEMM rows show their fraction of the measured FMA peak, memory-bound rows their fraction \
            of the measured triad bandwidth, both at --threads threads.
            """,
        subcommands: [PeakCommand.self, GemmCommand.self, SoftmaxCommand.self, BatchNormCommand.self,
                      TrainCommand.self, DataParallelCommand.self, TuneCommand.self, AllCommand.self],
        defaultSubcommand: AllCommand.self)
}

/// Options every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Comma-separated registered backends to compare (native, opencl, …). Default: every backend available here.")
    var backend: String?

    @Option(parsing: .unconditional, help: "Threads: the native backend's workers and PoCL's POCL_MAX_PTHREAD_COUNT. Default: all cores.")
    var threads: Int?

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    @Option(parsing: .unconditional, help: "Timed runs per figure (at least 5).")
    var runs = 7

    @Option(parsing: .unconditional, help: "Untimed warm-up runs before the timed ones (after a first call that pays for kernel compilation).")
    var warmup = 1

    @Option(name: .customLong("min-time"), parsing: .unconditional, help: "Minimum seconds per timed run; the kernel repeats until a run lasts this long.")
    var minimumRunSeconds = 0.1

    func validate() throws {
        if let threads, threads < 1 {
            throw ValidationError("--threads \(threads) must be at least 1")
        }
        if runs < MeasurementPolicy.minimumRuns {
            throw ValidationError("--runs \(runs) is too few for a median and a spread; use at least \(MeasurementPolicy.minimumRuns)")
        }
        if warmup < 0 { throw ValidationError("--warmup \(warmup) must be 0 or more") }
        if !(minimumRunSeconds > 0) { throw ValidationError("--min-time must be a positive number of seconds") }
        _ = try BackendRoster.parse(backend)
    }

    var policy: MeasurementPolicy {
        MeasurementPolicy(runs: runs, warmup: warmup, minimumRunSeconds: minimumRunSeconds)
    }
}

/// One invocation: the backends, the host ceiling, and the rows measured on them.
struct BenchmarkSession {
    let options: CommonOptions

    func log(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Measures the ceiling and every workload on every backend, then prints the table or JSON.
    func run(_ workloads: [Workload], needsBackends: Bool = true) throws {
        let policy = try options.policy.validated()
        let runner = Runner(policy: policy)
        let threads = options.threads ?? ProcessInfo.processInfo.activeProcessorCount
        let roster = needsBackends
            ? try BackendRoster.make(requested: try BackendRoster.parse(options.backend), threads: options.threads, log: log)
            : BackendRoster(backends: [], unavailable: [])
        if needsBackends && roster.backends.isEmpty {
            throw NNError.backendUnavailable(backend: "every", reason: "no backend could be created; try --backend native")
        }
        let ceiling = try HostCeiling.measure(threads: threads, runner: runner, log: log)

        var rows: [BenchmarkRow] = []
        for workload in workloads {
            var results: [BackendResult] = []
            for backend in roster.backends {
                log("\(workload.suite) \(workload.name) on \(backend.name)…")
                do {
                    let call = try workload.prepare(backend)
                    var figure = try runner.measure(work: workload.workPerCall, scale: workload.unit.scale,
                                                    kernel: call, synchronize: { try backend.synchronize() })
                    figure.fractionOfCeiling = fraction(of: figure.median, for: workload.ceiling, on: backend, ceiling: ceiling)
                    results.append(BackendResult(backend: backend.name, figure: figure,
                                                 launchesPerCall: try Self.launches(of: call, on: backend)))
                } catch {
                    log("  \(backend.name) failed: \(error)")
                    results.append(BackendResult(backend: backend.name, error: "\(error)"))
                }
            }
            rows.append(BenchmarkRow(suite: workload.suite, name: workload.name, model: workload.model,
                                     unit: workload.unit, ceiling: workload.ceiling, results: results))
        }

        let report = BenchmarkReport(
            host: .current(), threads: threads, runs: policy.runs, warmup: policy.warmup,
            minimumRunSeconds: policy.minimumRunSeconds,
            backends: roster.backends.map { BackendInfo(name: $0.name, device: $0.deviceDescription) },
            unavailableBackends: roster.unavailable.map { BackendInfo(name: $0.name, device: $0.reason) },
            ceiling: ceiling, rows: rows)
        print(options.json ? try report.json() : TableRenderer.render(report))
    }

    /// The kernels one more (untimed) call enqueues, on a backend that counts them.
    private static func launches(of call: () throws -> Void, on backend: any Backend) throws -> Int? {
        guard let opencl = backend as? OpenCLBackend else { return nil }
        let before = opencl.kernelLaunches.values.reduce(0, +)
        try call()
        try backend.synchronize()
        return opencl.kernelLaunches.values.reduce(0, +) - before
    }

    /// The host ceilings describe this CPU, so they apply to the native backend and to an OpenCL
    /// device that runs on this CPU (PoCL's pthread device); a GPU's figures get no fraction.
    private func fraction(of median: Double, for kind: CeilingKind, on backend: any Backend, ceiling: HostCeiling) -> Double? {
        let runsOnHostCPU = backend.name == "native" || (backend as? OpenCLBackend)?.device.type == .cpu
        guard runsOnHostCPU else { return nil }
        switch kind {
        case .flops: return median / ceiling.flopsCeiling
        case .bandwidth: return median / ceiling.bandwidthCeiling
        case .none: return nil
        }
    }
}

struct PeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak", abstract: "Measure this machine's FMA GFLOP/s peak and triad GB/s, on 1 and N threads.")
    @OptionGroup var options: CommonOptions

    func run() throws {
        try BenchmarkSession(options: options).run([], needsBackends: false)
    }
}

struct GemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "GEMM GFLOP/s: square sizes and the MLP's forward and gradient shapes.")
    @OptionGroup var options: CommonOptions

    @Option(help: "Comma-separated square sizes n (n×n·n×n).")
    var sizes = "256,512,1024"

    @Flag(inversion: .prefixedNo, help: "Include the MLP layer shapes and their gradient forms.")
    var mlp = true

    @Flag(help: "Autotune the OpenCL GEMM first (as `nnbench tune` does) and cache the winner, which the run then uses.")
    var tune = false

    func run() throws {
        let squares = try parseSizes(sizes)
        if tune {
            // Before the roster exists: the OpenCL backend reads the cache when it opens.
            print(try TuneCommand.tune(device: nil))
        }
        try BenchmarkSession(options: options).run(GemmSuite.workloads(squareSizes: squares, includeMLP: mlp))
    }
}

struct SoftmaxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "softmax", abstract: "Row softmax of 4096×1000 in GB/s.")
    @OptionGroup var options: CommonOptions

    func run() throws {
        try BenchmarkSession(options: options).run(MemoryBoundSuites.softmax())
    }
}

struct BatchNormCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchnorm", abstract: "Batch norm forward (training) and backward of 4096×1024 in GB/s, alone and with ReLU (separate and fused).")
    @OptionGroup var options: CommonOptions

    func run() throws {
        try BenchmarkSession(options: options).run(MemoryBoundSuites.batchNorm())
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Samples/s of whole training steps of an MLP (default the Fashion-MNIST one, 784-512-256-10; batch norm, ReLU, Adam).")
    @OptionGroup var options: CommonOptions

    @Option(help: "Comma-separated batch sizes.")
    var batches = "128,512"

    @Option(help: "Comma-separated hidden layer widths (e.g. 4096,4096 for the wide MLP).")
    var hidden = "512,256"

    func run() throws {
        try BenchmarkSession(options: options).run(
            TrainingSuite.workloads(batchSizes: try parseSizes(batches), hidden: try parseSizes(hidden)))
    }
}

struct AllCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all", abstract: "Every suite: gemm, softmax, batchnorm, train.")
    @OptionGroup var options: CommonOptions

    func run() throws {
        let workloads = GemmSuite.workloads(squareSizes: GemmSuite.defaultSizes, includeMLP: true)
            + MemoryBoundSuites.softmax() + MemoryBoundSuites.batchNorm()
            + TrainingSuite.workloads(batchSizes: TrainingSuite.defaultBatchSizes)
        try BenchmarkSession(options: options).run(workloads)
    }
}

/// Parses "256,512,1024" into positive sizes.
func parseSizes(_ text: String) throws -> [Int] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let sizes = parts.compactMap { Int($0) }.filter { $0 > 0 }
    guard sizes.count == parts.count, !sizes.isEmpty else {
        throw ValidationError("'\(text)' is not a comma-separated list of positive sizes, e.g. 256,512,1024")
    }
    // A square GEMM of this size holds three 1 GiB matrices: far past every shape worth timing here.
    let maximum = 16_384
    if let large = sizes.first(where: { $0 > maximum }) {
        throw ValidationError("size \(large) in '\(text)' is above the \(maximum) this benchmark measures")
    }
    return sizes
}
