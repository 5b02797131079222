import Foundation
import NNCore
import NNKernels

/// Chooses GEMM tile sizes per device: built-in defaults, a tuning cached on disk, or a measurement.
///
/// **Modes** (`NN_GEMM_TUNING`, or ``Mode`` passed to ``tuning(for:mode:)``):
/// - `cached` (the default): the cached winner for this device if there is one, else
///   ``GemmTuning/defaults(for:)``. Never measures, so opening a backend (and every test run) stays fast.
/// - `off`: always the built-in defaults; the cache is neither read nor written.
/// - `force`: measure now (once per process and device), store the winner, use it.
///   Tools call ``tune(deviceSelector:cache:progress:)`` for the same thing explicitly (`nnbench tune`,
///   `nnbench gemm --tune`, `nn devices --tune`).
///
/// **Tuning** builds the kernel library once per candidate (a handful per device type, see
/// ``candidates(for:)``), checks every transpose combination and the narrow and edge paths against a
/// Float64 reference — a candidate that computes a wrong product is rejected, however fast — then
/// times a fixed set of products (512³ and the MLP layer shapes with their gradient forms) and keeps the
/// fastest total.
///
/// **Cache**: `$XDG_CACHE_HOME/swiftnn/gemm-tuning.json`, else `~/.cache/swiftnn/gemm-tuning.json`
/// (`NN_GEMM_TUNING_CACHE` overrides the path). Entries are keyed by device name, driver version and a
/// hash of the GEMM kernel source, so a driver update or a kernel change invalidates them by itself.
/// An unreadable or malformed cache is treated as empty, with a warning (see ``GemmTuningCache``); delete
/// the file to forget every tuning.
public enum GemmAutotuner {
    /// When tuning happens; see the type's documentation.
    public enum Mode: String, Sendable, CaseIterable {
        case off, cached, force

        /// The environment variable that selects the mode.
        public static let environmentVariable = "NN_GEMM_TUNING"

        /// The mode `NN_GEMM_TUNING` names; `cached` when unset or empty.
        public static func fromEnvironment() throws -> Mode {
            let raw = ProcessInfo.processInfo.environment[environmentVariable] ?? ""
            if raw.isEmpty { return .cached }
            guard let mode = Mode(rawValue: raw.lowercased()) else {
                throw NNError.invalidArgument(
                    op: "OpenCL backend",
                    detail: "\(environmentVariable)=\(raw) is not a tuning mode; use off, cached (the default) or force")
            }
            return mode
        }
    }

    /// One candidate's outcome.
    public struct CandidateResult: Sendable {
        public var tuning: GemmTuning
        /// GFLOP/s over the timed set; nil when the candidate was rejected.
        public var gflops: Double?
        /// Why the candidate did not compete (failed to build, wrong result); nil when it did.
        public var rejection: String?

        /// "vector(…): 123.45 GFLOP/s, verified" or "vector(…): rejected: why".
        public var summary: String {
            if let gflops { return "\(tuning): \(Report.format(gflops)) GFLOP/s, verified" }
            return "\(tuning): rejected: \(rejection ?? "unknown reason")"
        }
    }

    /// What ``tune(deviceSelector:cache:progress:)`` measured and stored.
    public struct Report: Sendable, CustomStringConvertible {
        public var device: OpenCLDeviceInfo
        /// Every candidate, in the order measured.
        public var candidates: [CandidateResult]
        public var chosen: GemmTuning
        /// The built-in tuning the winner replaces, for comparison.
        public var defaults: GemmTuning
        public var cachePath: String

        /// One line per candidate, then the winner and where it was stored.
        public var description: String {
            var lines = ["GEMM autotuning on \(device.name) (driver \(device.driverVersion)), "
                         + "each candidate verified against a Float64 reference, then timed:"]
            for result in candidates {
                lines.append("  " + result.summary + (result.tuning == defaults ? "  [built-in default]" : ""))
            }
            let best = candidates.first { $0.tuning == chosen }?.gflops ?? 0
            let baseline = candidates.first { $0.tuning == defaults }?.gflops
            var winner = "winner: \(chosen), \(Self.format(best)) GFLOP/s"
            if let baseline, baseline > 0, chosen != defaults {
                winner += " (\(Self.format(best / baseline))× the built-in default)"
            }
            lines.append(winner)
            lines.append("stored in \(cachePath); later OpenCL backends on this device use it (NN_GEMM_TUNING=off ignores it)")
            return lines.joined(separator: "\n")
        }

        static func format(_ value: Double) -> String {
            String(format: "%.2f", value)
        }
    }

    /// The tuning a new backend on `device` uses under `mode`.
    public static func tuning(for device: OpenCLDeviceInfo, mode: Mode) throws -> GemmTuning {
        switch mode {
        case .off:
            return GemmTuning.defaults(for: device)
        case .cached:
            return cachedTuning(for: device) ?? GemmTuning.defaults(for: device)
        case .force:
            if let done = state.withLock({ $0.forcedThisProcess[GemmTuningCache.Key(device)] }) { return done }
            return try tune(device: device).chosen
        }
    }

    /// Measures every candidate on the selected device (see `OpenCLBackend.init`'s selector), stores the
    /// winner in `cache` and returns what was measured. `progress` hears about each candidate as it finishes.
    public static func tune(deviceSelector: String? = nil, cache: GemmTuningCache = GemmTuningCache(),
                            progress: (CandidateResult) -> Void = { _ in }) throws -> Report {
        let devices = try DeviceDiscovery.discover()
        let selector = deviceSelector ?? ProcessInfo.processInfo.environment[DeviceDiscovery.environmentVariable]
        return try tune(device: DeviceDiscovery.select(selector, from: devices).info, cache: cache, progress: progress)
    }

    /// The cached winner for `device`, or nil when `cache` holds none for this device, driver and kernel
    /// source (or cannot be read, which it reports as a warning).
    public static func cachedTuning(for device: OpenCLDeviceInfo, cache: GemmTuningCache = GemmTuningCache()) -> GemmTuning? {
        cache.entry(for: GemmTuningCache.Key(device))?.tuning
    }

    /// Where the cache lives (see the type's documentation).
    public static var cacheURL: URL {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["NN_GEMM_TUNING_CACHE"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        let base: URL
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            base = URL(fileURLWithPath: xdg)
        } else {
            base = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        }
        return base.appendingPathComponent("swiftnn").appendingPathComponent("gemm-tuning.json")
    }

    /// The candidates tried on a device: a few register-block shapes around the defaults for CPU drivers
    /// (vector family, the driver's preferred vector width), a few work-group tiles elsewhere.
    public static func candidates(for device: OpenCLDeviceInfo) -> [GemmTuning] {
        let all: [GemmTuning]
        if device.type == .cpu {
            if device.preferredFloatVectorWidth >= 16 {
                all = [(8, 2, 16, false), (8, 2, 16, true), (12, 2, 16, false), (4, 4, 16, false), (6, 3, 8, false), (8, 2, 8, false)]
                    .map { GemmTuning(family: .vector, mr: $0.0, vectorWidth: 16, vectorsPerRow: $0.1, narrowRows: $0.2, packA: $0.3) }
            } else {
                all = [(6, 2, 12, false), (6, 2, 12, true), (4, 3, 8, false), (8, 1, 12, false), (4, 2, 6, false)]
                    .map { GemmTuning(family: .vector, mr: $0.0, vectorWidth: 8, vectorsPerRow: $0.1, narrowRows: $0.2, packA: $0.3) }
            }
        } else {
            all = [(64, 64, 16, 16, 16), (32, 32, 16, 8, 8), (64, 64, 16, 8, 8), (128, 64, 16, 16, 16), (128, 128, 16, 16, 16)]
                .map { GemmTuning(family: .tiled, mwg: $0.0, nwg: $0.1, kwg: $0.2, mdimc: $0.3, ndimc: $0.4) }
                .filter { $0.mdimc * $0.ndimc <= device.maxWorkGroupSize }
        }
        return all.filter { (try? $0.validate()) != nil }
    }

    // MARK: Measuring

    private static func tune(device: OpenCLDeviceInfo, cache: GemmTuningCache = GemmTuningCache(),
                             progress: (CandidateResult) -> Void = { _ in }) throws -> Report {
        var results: [CandidateResult] = []
        for candidate in candidates(for: device) {
            let result: CandidateResult
            do {
                let backend = try OpenCLBackend(deviceSelector: String(device.index), gemmTuning: candidate)
                if let wrong = try verify(backend) {
                    result = CandidateResult(tuning: candidate, gflops: nil, rejection: wrong)
                } else {
                    result = CandidateResult(tuning: candidate, gflops: try measure(backend), rejection: nil)
                }
            } catch {
                result = CandidateResult(tuning: candidate, gflops: nil, rejection: "\(error)")
            }
            results.append(result)
            progress(result)
        }
        guard let best = results.filter({ $0.gflops != nil }).max(by: { $0.gflops! < $1.gflops! }) else {
            throw NNError.deviceFailure(call: "GEMM autotuning on \(device.name)",
                                        detail: "every candidate failed: " + results.compactMap(\.rejection).joined(separator: "; "))
        }
        let key = GemmTuningCache.Key(device)
        try cache.store(best.tuning, gflops: best.gflops ?? 0, for: key)
        state.withLock { $0.forcedThisProcess[key] = best.tuning }
        return Report(device: device, candidates: results, chosen: best.tuning, defaults: GemmTuning.defaults(for: device),
                      cachePath: cache.url.path)
    }

    /// nil when every checked product matches a Float64 reference, else what went wrong.
    static func verify(_ backend: OpenCLBackend) throws -> String? {
        // Edges of every tile: odd sizes, N within one vector (the narrow kernel), k below one step.
        let shapes = [(67, 45, 33), (37, 10, 29), (9, 70, 3), (1, 1, 1)]
        var generator = SplitMix64(seed: 0x5EED)
        for (m, n, k) in shapes {
            for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
                let aValues = (0..<(m * k)).map { _ in generator.nextUnit() }
                let bValues = (0..<(k * n)).map { _ in generator.nextUnit() }
                let cValues = (0..<(m * n)).map { _ in generator.nextUnit() }
                let a = try backend.makeTensor(aValues, shape: transposeA ? Shape(k, m) : Shape(m, k))
                let b = try backend.makeTensor(bValues, shape: transposeB ? Shape(n, k) : Shape(k, n))
                let c = try backend.makeTensor(cValues, shape: Shape(m, n))
                let (alpha, beta): (Float, Float) = (1.5, 0.5)
                try backend.gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: alpha, beta: beta)
                let got = try backend.download(c)
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0, magnitude = 0.0
                        for p in 0..<k {
                            let x = Double(transposeA ? aValues[p * m + i] : aValues[i * k + p])
                            let y = Double(transposeB ? bValues[j * k + p] : bValues[p * n + j])
                            sum += x * y
                            magnitude += abs(x * y)
                        }
                        let expected = Double(alpha) * sum + Double(beta) * Double(cValues[i * n + j])
                        // Float accumulation over k terms errs by at most ~k·2⁻²⁴ of Σ|a·b|; 1e-4 of the
                        // magnitude is far above that and far below the O(1) error of a wrong kernel.
                        let bound = 1e-4 * (Double(alpha) * magnitude + abs(Double(beta * cValues[i * n + j]))) + 1e-6
                        if !(abs(Double(got[i * n + j]) - expected) <= bound) {
                            return "wrong product: m=\(m) n=\(n) k=\(k) tA=\(transposeA) tB=\(transposeB) at (\(i), \(j)): "
                                + "\(got[i * n + j]) against \(expected)"
                        }
                    }
                }
            }
        }
        return nil
    }

    /// GFLOP/s over one pass of the timed set, best of three passes.
    static func measure(_ backend: OpenCLBackend) throws -> Double {
        // (m, n, k, transposeA, transposeB): 512³, then the 784-512-256-10 MLP at batch 256 in the
        // forward, weight-gradient and input-gradient forms.
        let set = [(512, 512, 512, false, false), (256, 512, 784, false, false), (784, 512, 256, true, false),
                   (256, 784, 512, false, true), (256, 10, 256, false, false), (256, 10, 256, true, false)]
        var operands: [(Tensor, Bool, Tensor, Bool, Tensor)] = []
        var flops = 0.0
        for (m, n, k, transposeA, transposeB) in set {
            let a = try backend.makeTensor([Float](repeating: 0.5, count: m * k), shape: transposeA ? Shape(k, m) : Shape(m, k))
            let b = try backend.makeTensor([Float](repeating: 0.25, count: k * n), shape: transposeB ? Shape(n, k) : Shape(k, n))
            operands.append((a, transposeA, b, transposeB, try backend.makeTensor(Shape(m, n))))
            flops += 2 * Double(m * n * k)
        }
        func pass() throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            for (a, transposeA, b, transposeB, c) in operands {
                try backend.gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: 1, beta: 0)
            }
            try backend.synchronize()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        _ = try pass()  // warm-up: first launches, page faults in the scratch buffers
        let best = try (0..<3).map { _ in try pass() }.min() ?? .infinity
        return flops / best / 1e9
    }

    // MARK: Cache

    private struct State {
        var forcedThisProcess: [GemmTuningCache.Key: GemmTuning] = [:]
    }

    private static let state = LockedState(State())

    /// FNV-1a (64-bit) of the GEMM kernel source: stable across runs and platforms, unlike `Hasher`.
    public static let kernelSourceHash: String = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in KernelSources.gemm.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }()
}

/// A value behind a lock, for the autotuner's process-wide memory.
final class LockedState<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// SplitMix64, for reproducible verification operands in [-1, 1].
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func nextUnit() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 23) - 1
    }
}
