import ArgumentParser
import Foundation
import NNCore
import NNDistributed
import NNTrain
#if MPI
import NNMPI
#endif

/// `nnbench data-parallel`: training steps of the recipe MLP as one process with T threads against
/// T ranks of one thread each under mpirun (`nn train`'s data parallelism on one host), per backend,
/// with the share of step time spent waiting for gradient allreduces, with and without overlapping
/// them with backward.
///
/// Configurations are measured in interleaved rounds (one of each per round) and the median per
/// configuration is reported, so a neighbour's load disturbs all of them alike.
struct DataParallelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data-parallel",
        abstract: "Samples/s of 1 rank × T threads against T ranks × 1 thread (mpirun), and the allreduce share of a step.",
        discussion: """
            Launches `mpirun -np T` on this nnbench itself (Open MPI, loopback). The allreduce share is the time a \
            step waits for its gradient reductions after backward (with buckets, what backward did not hide; it \
            includes waiting for the slower rank), as a fraction of the step.
            """)

    @Option(help: "Comma-separated backends: native, opencl. Default: both.")
    var backend = "native,opencl"

    @Option(parsing: .unconditional, help: "Cores to share: threads of the one process, and ranks of the MPI run. Default: all cores.")
    var threads: Int?

    @Option(parsing: .unconditional, help: "Global batch size.")
    var batch = 128

    @Option(parsing: .unconditional, help: "Timed steps per measurement (after 10 untimed ones).")
    var steps = 60

    @Option(parsing: .unconditional, help: "Interleaved rounds; the median of each configuration is reported.")
    var rounds = 3

    @Option(name: .customLong("bucket-kib"), help: "Gradient bucket size of the overlapped configuration, in KiB.")
    var bucketKiB = DataParallel.defaultBucketCapacity * 4 / 1024

    @Flag(help: .hidden)
    var worker = false

    func validate() throws {
        guard batch >= 2, batch <= 16_384 else { throw ValidationError("--batch \(batch) must lie in 2…16384") }
        guard steps >= 1, steps <= 100_000 else { throw ValidationError("--steps \(steps) must lie in 1…100000") }
        guard rounds >= 1, rounds <= 100 else { throw ValidationError("--rounds \(rounds) must lie in 1…100") }
        guard bucketKiB >= 0 else { throw ValidationError("--bucket-kib must be ≥ 0") }
        if let threads, threads < 1 { throw ValidationError("--threads \(threads) must be at least 1") }
        _ = try BackendRoster.parse(backend)
    }

    func run() throws {
        if worker { return try runWorker() }
        let threads = self.threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 2 else {
            throw ValidationError("--threads \(threads): data parallelism needs at least 2 cores to split")
        }
        let names = try BackendRoster.parse(backend) ?? BackendRoster.knownNames
        print("data parallel, MLP 784-512-256-10 BN ReLU Adam, global batch \(batch), \(steps) steps, median of \(rounds) rounds")
        print("backend  configuration                        samples/s   vs 1×\(threads)   allreduce wait")
        for name in names {
            var single: [Double] = [], overlapped: [Measured] = [], serial: [Measured] = []
            for _ in 0..<rounds {
                single.append(try measureInProcess(name, threads: threads))
                overlapped.append(try launch(name, ranks: threads, bucketKiB: bucketKiB))
                serial.append(try launch(name, ranks: threads, bucketKiB: 0))
            }
            let base = median(single)
            print(row(name, "1 rank × \(threads) threads", base, base, nil))
            let o = median(overlapped.map(\.samplesPerSecond)), s = median(serial.map(\.samplesPerSecond))
            print(row(name, "\(threads) ranks × 1 thread, \(bucketKiB) KiB buckets", o, base, median(overlapped.map(\.waitFraction))))
            print(row(name, "\(threads) ranks × 1 thread, one bucket", s, base, median(serial.map(\.waitFraction))))
        }
    }

    struct Measured: Codable {
        var samplesPerSecond: Double
        var waitFraction: Double
    }

    private func row(_ backend: String, _ configuration: String, _ rate: Double, _ base: Double, _ wait: Double?) -> String {
        let pad = { (text: String, width: Int) in text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        return pad(backend, 9) + pad(configuration, 37) + pad(String(format: "%9.0f", rate), 12)
            + pad(String(format: "%6.2f×", rate / base), 11) + (wait.map { String(format: "%5.1f %%", $0 * 100) } ?? "—")
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    // MARK: One process

    private func measureInProcess(_ name: String, threads: Int) throws -> Double {
        let roster = try BackendRoster.make(requested: [name], threads: threads) { _ in }
        guard let backend = roster.backends.first else {
            throw NNError.backendUnavailable(backend: name, reason: "not created")
        }
        return try time(backend: backend, parallel: .singleProcess).samplesPerSecond
    }

    // MARK: Under mpirun

    private func launch(_ name: String, ranks: Int, bucketKiB: Int) throws -> Measured {
        let mpirun = try Self.mpirun()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        var arguments = ["--oversubscribe", "-np", String(ranks)]
        if geteuid() == 0 { arguments.insert("--allow-run-as-root", at: 0) }
        for variable in ["NN_NATIVE_THREADS=1", "POCL_MAX_PTHREAD_COUNT=1", "POCL_CPU_MAX_CU_COUNT=1"] {
            arguments += ["-x", variable]
        }
        arguments += [CommandLine.arguments[0], "data-parallel", "--worker", "--backend", name, "--batch", String(batch),
                      "--steps", String(steps), "--bucket-kib", String(bucketKiB)]
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw NNError.invalidArgument(op: "nnbench data-parallel",
                                          detail: "mpirun -np \(ranks) exited with \(process.terminationStatus); see its messages above")
        }
        return try JSONDecoder().decode(Measured.self, from: Data(line.utf8))
    }

    private static func mpirun() throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            if FileManager.default.isExecutableFile(atPath: "\(directory)/mpirun") { return "\(directory)/mpirun" }
        }
        throw NNError.backendUnavailable(backend: "mpirun", reason: "Open MPI's mpirun is not on PATH; apt-get install openmpi-bin libopenmpi-dev")
    }

    private func runWorker() throws {
        #if MPI
        let communicator = try MPICommunicator(timeout: 120)
        defer { communicator.finalize() }
        let roster = try BackendRoster.make(requested: [backend], threads: 1) { _ in }
        guard let device = roster.backends.first else { throw NNError.backendUnavailable(backend: backend, reason: "not created") }
        let parallel = DataParallel(communicator: communicator, bucketCapacity: bucketKiB * 1024 / 4)
        let measured = try time(backend: device, parallel: parallel)
        if communicator.isRoot, let text = String(data: try JSONEncoder().encode(measured), encoding: .utf8) { print(text) }
        #else
        throw NNError.backendUnavailable(backend: "MPI", reason: "this nnbench was built without the MPI trait (--disable-default-traits)")
        #endif
    }

    /// Samples/s of `steps` global batches after 10 warm-up steps, and the allreduce wait's share.
    private func time(backend: any Backend, parallel: DataParallel) throws -> Measured {
        let spec = try NetworkSpec.mlp(inputWidth: TrainingSuite.inputWidth, hidden: TrainingSuite.hidden,
                                       classes: TrainingSuite.classes, activation: .relu, batchNorm: true)
        let network = try Network(spec: spec, backend: backend, seed: 1)
        var config = TrainingConfig()
        config.batchSize = batch
        let trainer = try Trainer(network: network, config: config, parallel: parallel)
        let shard = BatchShard(globalCount: batch, rank: parallel.communicator.rank, size: parallel.communicator.size)
        let inputs = try backend.benchmarkTensor(Shape(shard.count, TrainingSuite.inputWidth), seed: 6 + UInt64(shard.offset))
        let labelValues = benchmarkValues(shard.count, seed: 7).map { Float(Int(($0 + 1) / 2 * Float(TrainingSuite.classes)) % TrainingSuite.classes) }
        let labels = try backend.makeTensor(labelValues, shape: Shape(shard.count, 1))
        for _ in 0..<10 { try trainer.step(inputs: inputs, labels: labels, shard: shard) }
        try backend.synchronize()
        try parallel.communicator.barrier()
        let clock = ContinuousClock(), start = clock.now
        var waiting = 0.0
        for _ in 0..<steps {
            try trainer.step(inputs: inputs, labels: labels, shard: shard)
            waiting += trainer.lastAllreduceWaitSeconds
        }
        try backend.synchronize()
        try parallel.communicator.barrier()
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Measured(samplesPerSecond: Double(steps * batch) / seconds, waitFraction: waiting / seconds)
    }
}
