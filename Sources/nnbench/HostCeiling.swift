import Dispatch
import NNNative
#if canImport(Glibc)
import Glibc
#endif

/// This machine's own ceilings, measured rather than looked up, so every figure can be read as a
/// fraction of what the hardware delivered in the same session:
///
/// - **FMA peak**: each thread runs independent chains of `SIMD16<Float>` fused multiply-adds —
///   enough chains to cover the FMA latency on every pipe — and nothing else. 2 flops per lane.
///   Caveat: it measures what the compiler emitted. `swiftc` targets baseline x86-64 unless told
///   otherwise, and there `addingProduct` is a libm `fmaf` call per lane. So the probe also times
///   the same chains unfused (`*` then `+`): hardware FMA is at least as fast as that, so a slower
///   fused probe means this build has no FMA (``hardwareFMA`` is false) and GEMM rows are compared
///   with the unfused rate instead. Where the native backend's kernel variant is AVX2 or AVX-512
///   (``KernelVariant``, chosen at run time), the fused chains run that variant's C probe instead,
///   so a plain build measures the hardware's peak too.
/// - **Triad bandwidth**: STREAM's triad `a[i] = b[i] + s·c[i]` over arrays at least 4× the last-level
///   cache. Byte model (STREAM's): 3 arrays × 4 bytes per element, write-allocate traffic not counted.
struct HostCeiling: Codable, Sendable {
    var threads: Int
    var fmaOneThread: Figure
    var fmaAllThreads: Figure
    var triadOneThread: Figure
    var triadAllThreads: Figure
    var triadArrayMiB: Int
    /// The unfused multiply-add rate on every thread (same chains, `*` then `+`).
    var mulAddAllThreads: Figure
    /// Whether the compiled FMA probe ran at least as fast as unfused mul+add, i.e. this binary
    /// uses hardware FMA. When false the FMA figures measure libm `fmaf` calls, not the hardware.
    var hardwareFMA: Bool

    /// GFLOP/s the GEMM rows are compared against: the FMA peak at the benchmark's thread count —
    /// or, in a build without hardware FMA, the unfused rate, the best this binary's code can do.
    var flopsCeiling: Double { max(fmaAllThreads.median, mulAddAllThreads.median) }
    /// GB/s the memory-bound rows are compared against: the triad at the benchmark's thread count.
    var bandwidthCeiling: Double { triadAllThreads.median }

    static func measure(threads: Int, runner: Runner, log: (String) -> Void) throws -> HostCeiling {
        log("measuring the host ceiling: FMA peak and triad bandwidth on 1 and \(threads) thread(s)")
        let fma1 = try FMAProbe.measure(threads: 1, runner: runner)
        let fmaN = threads == 1 ? fma1 : try FMAProbe.measure(threads: threads, runner: runner)
        let mulAdd = try FMAProbe.measure(threads: threads, fused: false, runner: runner)
        let triad = TriadProbe()
        let triad1 = try triad.measure(threads: 1, runner: runner)
        let triadN = threads == 1 ? triad1 : try triad.measure(threads: threads, runner: runner)
        return HostCeiling(threads: threads, fmaOneThread: fma1, fmaAllThreads: fmaN,
                           triadOneThread: triad1, triadAllThreads: triadN,
                           triadArrayMiB: (triad.elements * MemoryLayout<Float>.stride) >> 20,
                           mulAddAllThreads: mulAdd, hardwareFMA: fmaN.median >= mulAdd.median)
    }
}

/// Independent FMA chains on every thread.
enum FMAProbe {
    /// Chains per thread. FMA latency 4 cycles × 2 pipes needs 8 independent vectors in flight;
    /// 8 × SIMD16 covers that for 512-bit and, split in halves, for 256-bit code.
    static let chains = 8
    static let lanes = 16
    static let iterationsPerCall = 1 << 20

    static var flopsPerCall: Double { Double(chains * lanes * 2 * iterationsPerCall) }

    static func measure(threads: Int, fused: Bool = true, runner: Runner) throws -> Figure {
        // The native kernels' variant's own FMA instructions when it has them: in a build without
        // -target-cpu flags the Swift chains below would time libm calls, not the hardware.
        let variant = try? KernelVariant.processDefault.get()
        let sinks = SharedFloats(count: threads, repeating: 0)
        defer { sinks.deallocate() }
        // Runtime values, so the compiler cannot fold the chains away.
        let multiplier = Float(CommandLine.arguments.count) * 0.999_999 / Float(CommandLine.arguments.count)
        let figure = try runner.measure(work: flopsPerCall * Double(threads), scale: 1e9, kernel: {
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                if fused, let variant, let sum = KernelPeakProbe.fusedChains(variant, iterations: iterationsPerCall,
                                                                             multiplier: multiplier, addend: 1e-3) {
                    sinks[t] += sum
                } else {
                    sinks[t] += fused
                        ? chainsOfFMA(iterations: iterationsPerCall, multiplier: multiplier, addend: 1e-3)
                        : chainsOfMulAdd(iterations: iterationsPerCall, multiplier: multiplier, addend: 1e-3)
                }
            }
        }, synchronize: {})
        // The chains converge to addend/(1 − multiplier); a non-finite sink means the probe is broken.
        if !(0..<threads).reduce(Float(0), { $0 + sinks[$1] }).isFinite { throw ProbeError.nonFinite("FMA probe") }
        return figure
    }

    @inline(never)
    static func chainsOfFMA(iterations: Int, multiplier: Float, addend: Float) -> Float {
        let a = SIMD16<Float>(repeating: multiplier)
        let b = SIMD16<Float>(repeating: addend)
        var c0 = SIMD16<Float>(repeating: 0.0), c1 = SIMD16<Float>(repeating: 0.1)
        var c2 = SIMD16<Float>(repeating: 0.2), c3 = SIMD16<Float>(repeating: 0.3)
        var c4 = SIMD16<Float>(repeating: 0.4), c5 = SIMD16<Float>(repeating: 0.5)
        var c6 = SIMD16<Float>(repeating: 0.6), c7 = SIMD16<Float>(repeating: 0.7)
        for _ in 0..<iterations {
            c0 = b.addingProduct(c0, a); c1 = b.addingProduct(c1, a)
            c2 = b.addingProduct(c2, a); c3 = b.addingProduct(c3, a)
            c4 = b.addingProduct(c4, a); c5 = b.addingProduct(c5, a)
            c6 = b.addingProduct(c6, a); c7 = b.addingProduct(c7, a)
        }
        return ((c0 + c1) + (c2 + c3) + ((c4 + c5) + (c6 + c7))).sum()
    }

    /// The same chains as ``chainsOfFMA(iterations:multiplier:addend:)`` with a separate multiply
    /// and add (Swift never contracts `a * b + c` into an FMA).
    @inline(never)
    static func chainsOfMulAdd(iterations: Int, multiplier: Float, addend: Float) -> Float {
        let a = SIMD16<Float>(repeating: multiplier)
        let b = SIMD16<Float>(repeating: addend)
        var c0 = SIMD16<Float>(repeating: 0.0), c1 = SIMD16<Float>(repeating: 0.1)
        var c2 = SIMD16<Float>(repeating: 0.2), c3 = SIMD16<Float>(repeating: 0.3)
        var c4 = SIMD16<Float>(repeating: 0.4), c5 = SIMD16<Float>(repeating: 0.5)
        var c6 = SIMD16<Float>(repeating: 0.6), c7 = SIMD16<Float>(repeating: 0.7)
        for _ in 0..<iterations {
            c0 = c0 * a + b; c1 = c1 * a + b; c2 = c2 * a + b; c3 = c3 * a + b
            c4 = c4 * a + b; c5 = c5 * a + b; c6 = c6 * a + b; c7 = c7 * a + b
        }
        return ((c0 + c1) + (c2 + c3) + ((c4 + c5) + (c6 + c7))).sum()
    }
}

/// STREAM triad over arrays far larger than the last-level cache.
final class TriadProbe {
    let elements: Int
    private let a, b, c: SharedFloats

    init() {
        let lastLevelCache = TriadProbe.lastLevelCacheBytes() ?? (32 << 20)
        // Each array ≥ 4× the LLC (and ≥ 64 MiB), so no run is served from cache.
        elements = max(4 * lastLevelCache, 64 << 20) / MemoryLayout<Float>.stride
        a = SharedFloats(count: elements, repeating: 0)
        b = SharedFloats(count: elements, repeating: 1)
        c = SharedFloats(count: elements, repeating: 2)
    }

    deinit {
        a.deallocate()
        b.deallocate()
        c.deallocate()
    }

    func measure(threads: Int, runner: Runner) throws -> Figure {
        let n = elements
        let (a, b, c) = (self.a, self.b, self.c)
        let scalar = Float(3)
        let bytes = Double(3 * n * MemoryLayout<Float>.stride)
        let figure = try runner.measure(work: bytes, scale: 1e9, kernel: {
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let lo = n * t / threads, hi = n * (t + 1) / threads
                let pa = a.base + lo, pb = b.base + lo, pc = c.base + lo
                for i in 0..<(hi - lo) { pa[i] = pb[i] + scalar * pc[i] }
            }
        }, synchronize: {})
        if a[n / 2] != 7 { throw ProbeError.nonFinite("triad probe (a[i] = 1 + 3·2 should be 7, got \(a[n / 2]))") }
        return figure
    }

    /// The largest cache Linux reports for cpu0 (sysfs `cache/index*/size`, e.g. "32768K").
    static func lastLevelCacheBytes() -> Int? {
        var best: Int?
        for index in 0..<8 {
            guard let text = readSmallFile("/sys/devices/system/cpu/cpu0/cache/index\(index)/size") else { continue }
            let trimmed = text.trimmingWhitespace()
            let multiplier: Int
            var digits = Substring(trimmed)
            switch trimmed.last {
            case "K": multiplier = 1 << 10; digits = digits.dropLast()
            case "M": multiplier = 1 << 20; digits = digits.dropLast()
            default: multiplier = 1
            }
            if let value = Int(digits) { best = max(best ?? 0, value * multiplier) }
        }
        return best
    }
}

/// A float buffer shared with `concurrentPerform` workers, each of which writes only its own
/// disjoint range (or slot); `concurrentPerform` joins them before anyone reads.
struct SharedFloats: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>

    /// Allocates and initialises `count` floats; the owner calls ``deallocate()``.
    init(count: Int, repeating value: Float) {
        base = .allocate(capacity: count)
        base.initialize(repeating: value, count: count)
    }

    func deallocate() { base.deallocate() }

    subscript(index: Int) -> Float {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }
}

enum ProbeError: Error, CustomStringConvertible {
    case nonFinite(String)

    var description: String {
        switch self {
        case let .nonFinite(what): return "\(what) produced a wrong result; the measurement is not trustworthy"
        }
    }
}

/// Reads a short text file (sysfs, procfs) without Foundation.
func readSmallFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if count <= 0 { break }
        bytes.append(contentsOf: buffer[0..<count])
        if bytes.count > 1 << 20 { break }
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension String {
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
