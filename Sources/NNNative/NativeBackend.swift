import Foundation
import NNCore

/// The native backend: every op of `Backend` as Swift loops on the CPU, SIMD-vectorised and
/// spread over threads with `DispatchQueue.concurrentPerform` when the work is large enough to pay.
///
/// - `.float32` stores and computes in `Float`; reductions (column sums, batch-norm statistics,
///   losses, whole-tensor reductions) accumulate in `Double`, which on a CPU costs little and keeps
///   sums over 10⁵ rows accurate to ~1e-7 relative.
/// - `.float64` stores and computes in `Double`, for gradient checking only.
///
/// A plain `swift build -c release` is full speed: the GEMM micro-kernels run C code for AVX2+FMA or
/// AVX-512 chosen from the CPU at run time (``KernelVariant``), whatever instruction set the Swift
/// code was compiled for. On the baseline variant, which GEMM tile and whether to fuse multiply-adds
/// is timed once per process; ``deviceDescription`` says what was picked.
///
/// Threads: `threads` if given, else the `NN_NATIVE_THREADS` environment variable, else the number
/// of active processors. One backend instance (and the tensors it made) is driven by one thread at
/// a time — hence `@unchecked Sendable`; its own worker threads are joined before each op returns,
/// so ops are synchronous and ``synchronize()`` has nothing to wait for.
public final class NativeBackend: Backend, @unchecked Sendable {
    /// The value of ``name`` and of every native tensor's `storage.backendName`.
    public static let backendName = "native"
    /// Environment variable overriding the default thread count.
    public static let threadsEnvironmentVariable = "NN_NATIVE_THREADS"

    public let precision: Precision
    /// Worker threads used by large ops.
    public let threads: Int
    let splitter: WorkSplitter
    /// Packing buffers and reduction partials, kept between ops (see ``ScratchSlot``).
    let scratch: Scratch
    /// The GEMM register tile: by default the fastest one for this machine and build, timed once
    /// per process. Every tile gives bit-identical results; setting it serves benchmarks and tests.
    public var gemmTile: GemmTile
    /// The instruction set the hot loops run on (see ``KernelVariant``): the process's choice unless
    /// made with `init(precision:threads:kernels:)`.
    public let kernels: KernelVariant

    /// - Parameters:
    ///   - precision: `.float32` for training, `.float64` for gradient checking.
    ///   - threads: worker threads (values below 1 count as 1); `nil` reads `NN_NATIVE_THREADS`,
    ///     falling back to the number of active processors.
    public convenience init(precision: Precision = .float32, threads: Int? = nil) {
        self.init(precision: precision, threads: threads, selectedKernels: KernelVariant.processDefaultOrExit)
    }

    init(precision: Precision, threads: Int?, selectedKernels: KernelVariant) {
        self.precision = precision
        let count = threads ?? NativeBackend.defaultThreadCount()
        self.threads = max(1, count)
        splitter = WorkSplitter(threads: self.threads)
        scratch = Scratch(slots: ScratchSlot.count(threads: self.threads))
        kernels = selectedKernels
        // A C variant's own tile needs no timing; only Float runs the C kernels.
        let natural = precision == .float32 ? selectedKernels.naturalTile : nil
        gemmTile = natural ?? (precision == .float32 ? GemmTile.fastestForFloat : GemmTile.fastestForDouble)
    }

    /// `NN_NATIVE_THREADS` when it holds a positive integer, else the active processor count.
    /// A malformed value is reported on stderr rather than silently ignored.
    public static func defaultThreadCount(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        let processors = max(1, ProcessInfo.processInfo.activeProcessorCount)
        guard let text = environment[threadsEnvironmentVariable] else { return processors }
        if let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 1 { return n }
        FileHandle.standardError.write(Data(
            "nn: \(threadsEnvironmentVariable)='\(text)' is not a positive integer; using \(processors) threads\n".utf8))
        return processors
    }

    public var name: String { Self.backendName }

    public var deviceDescription: String {
        "CPU, \(threads) thread\(threads == 1 ? "" : "s"), \(precision.rawValue), \(kernelDescription), GEMM tile \(gemmTile)\(fusedMultiplyAdd ? " with FMA" : "")"
    }

    /// What decides the bits of a result: the precision and whether multiply-adds are fused. The
    /// thread count does not (every reduction adds fixed blocks in order), nor does the GEMM tile
    /// (every tile sums each element's products in the same order), so neither is part of this.
    public var arithmeticDescription: String {
        "\(precision.rawValue), \(fusedMultiplyAdd ? "fused multiply-add" : "separate multiply and add")"
    }

    // MARK: Helpers shared by the op files

    /// Which ``Scratch`` slot each kind of temporary lives in; an op may use several at once.
    enum ScratchSlot {
        /// GEMM packing buffers of worker `t`: slots `0..<threads`.
        static func gemm(_ t: Int) -> Int { t }
        /// Data shared by all GEMM workers (the packed B of a narrow product).
        static func gemmShared(threads: Int) -> Int { threads }
        /// Per-thread reduction partials.
        static func partials(threads: Int) -> Int { threads + 1 }
        /// Per-feature coefficient vectors (batch norm).
        static func features(threads: Int) -> Int { threads + 2 }
        /// Per-feature statistics (batch norm's float64 means and M₂).
        static func statistics(threads: Int) -> Int { threads + 3 }
        static func count(threads: Int) -> Int { threads + 4 }
    }

    /// The element pointer behind `tensor`, after `OpCheck` has vouched for shape and owner.
    /// A native tensor of the other precision has the same backend name, so it is caught here.
    func pointer<T: NativeScalar>(_ tensor: Tensor, _: T.Type, _ op: String) throws -> UnsafeMutablePointer<T> {
        if let buffer = tensor.storage as? NativeBuffer<T>, buffer.count >= tensor.count {
            return buffer.base
        }
        let found: String
        switch tensor.storage {
        case is NativeBuffer<Float>: found = "native (float32)"
        case is NativeBuffer<Double>: found = "native (float64)"
        default: found = tensor.storage.backendName
        }
        throw NNError.foreignTensor(op: op, expected: "native (\(precision.rawValue))", found: found)
    }
}
