import Dispatch
import Foundation

/// The register tile a GEMM runs with, named by the vector width it is shaped for.
///
/// Swift compiles for one instruction set fixed at build time (baseline x86-64 is SSE2; with
/// `-Xswiftc -target-cpu -Xswiftc <cpu>` it may be AVX2 or AVX-512), and a tile shaped for 32 wide
/// registers spills badly on 16 narrow ones. So the backend carries one tile per width. The AVX2 and
/// AVX-512 kernel variants (``KernelVariant``) run their own C tile (vector256, vector512); the
/// baseline variant picks the fastest Swift tile on this machine and build by timing each once per
/// process (well under a millisecond). Every tile sums each element's products in the same order,
/// so the choice never changes results.
public enum GemmTile: String, Sendable, CaseIterable, CustomStringConvertible {
    /// 8 rows × 2 vectors of 64 bytes (8×32 Float): 16 accumulators, for AVX-512's 32 registers.
    case vector512
    /// 6 rows × 2 vectors of 32 bytes (6×16 Float): 12 accumulators, for AVX2's 16 registers.
    case vector256
    /// 6 rows × 2 vectors of 16 bytes (6×8 Float): 12 accumulators, for SSE or NEON.
    case vector128

    public var description: String { rawValue }

    /// The tile to use for a product `columns` wide: a narrower one when this one's NR would be
    /// more than half padding (an output layer of 10 classes on the 32-wide tile).
    func fitting(columns: Int, scalarSize: Int) -> GemmTile {
        let floatsPerVector = 16 / scalarSize  // 4 for Float, 2 for Double in 16 bytes
        switch self {
        case .vector512 where columns <= 4 * floatsPerVector:
            return GemmTile.vector256.fitting(columns: columns, scalarSize: scalarSize)
        case .vector256 where columns <= 2 * floatsPerVector:
            return .vector128
        default:
            return self
        }
    }

    /// The fastest tile for Float in this process, timed once on first use.
    static let fastestForFloat = fastest(Float.self)
    /// The fastest tile for Double in this process, timed once on first use.
    static let fastestForDouble = fastest(Double.self)

    /// Times each tile's micro-kernel on L1-resident panels, best of several rounds (so a
    /// preempted round does not decide), and returns the one with the highest throughput.
    private static func fastest<T: NativeScalar>(_: T.Type) -> GemmTile {
        var best = GemmTile.vector128
        var bestTime = UInt64.max
        for tile in allCases {
            let time: UInt64
            switch tile {
            case .vector512: time = GemmArithmetic.fused ? timeKernel(Tile8x2<T.Vector64, Fused>.self)
                                                         : timeKernel(Tile8x2<T.Vector64, Separate>.self)
            case .vector256: time = GemmArithmetic.fused ? timeKernel(Tile6x2<T.Vector32, Fused>.self)
                                                         : timeKernel(Tile6x2<T.Vector32, Separate>.self)
            case .vector128: time = GemmArithmetic.fused ? timeKernel(Tile6x2<T.Vector16, Fused>.self)
                                                         : timeKernel(Tile6x2<T.Vector16, Separate>.self)
            }
            if time < bestTime {
                bestTime = time
                best = tile
            }
        }
        return best
    }

    /// Nanoseconds per multiply-add (scaled by 2²⁰) of kernel `K`, the minimum over rounds.
    static func timeKernel<K: TileKernel>(_: K.Type) -> UInt64 {
        let kc = 128
        let a = UnsafeMutablePointer<K.Scalar>.allocate(capacity: kc * K.mr)
        let b = UnsafeMutableRawPointer.allocate(byteCount: kc * K.nr * MemoryLayout<K.Scalar>.stride, alignment: 64)
            .bindMemory(to: K.Scalar.self, capacity: kc * K.nr)
        let c = UnsafeMutablePointer<K.Scalar>.allocate(capacity: K.mr * K.nr)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        a.initialize(repeating: 1, count: kc * K.mr)
        b.initialize(repeating: 0.5, count: kc * K.nr)
        c.initialize(repeating: 0, count: K.mr * K.nr)
        var best = UInt64.max
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<8 {
                K.run(kc: kc, a: a, b: b, c: c, ldc: K.nr, alpha: 1, beta: 1, betaIsZero: false)
            }
            best = min(best, DispatchTime.now().uptimeNanoseconds - start)
        }
        return best * (1 << 20) / UInt64(8 * kc * K.mr * K.nr)
    }
}

/// A register-blocked micro-kernel: C[0..<mr, 0..<nr] ← α·Σₚ a[p]·b[p] + β·C over packed panels
/// (a: kc steps of mr values; b: kc steps of nr values, 64-byte aligned). `betaIsZero` stores
/// without reading C, so NaNs there cannot leak.
protocol TileKernel {
    associatedtype Scalar: NativeScalar
    associatedtype Arithmetic: MultiplyAdd
    static var mr: Int { get }
    static var nr: Int { get }
    static func run(kc: Int, a: UnsafeMutablePointer<Scalar>, b: UnsafeMutablePointer<Scalar>,
                    c: UnsafeMutablePointer<Scalar>, ldc: Int, alpha: Scalar, beta: Scalar, betaIsZero: Bool)
}

/// How a Swift kernel forms acc + x·y. `Fused` (`addingProduct`) is one vfmadd per vector when the
/// build targets FMA (`-Xswiftc -target-cpu -Xswiftc native`) and ~1.4× faster GEMM on this machine;
/// on a baseline x86-64 build (and debug builds) it is a libm `fma` call per lane, so there `Separate`
/// (multiply, then add) wins. For the baseline kernel variant the choice is timed once per process
/// (``GemmArithmetic``) and shared by every tile and the narrow path, so results never depend on the
/// tile or thread count; the AVX variants' C kernels always fuse.
protocol MultiplyAdd {
    static func apply<V: SIMD>(_ acc: V, _ x: V, _ y: V) -> V where V.Scalar: FloatingPoint
}

enum Fused: MultiplyAdd {
    @inline(__always)
    static func apply<V: SIMD>(_ acc: V, _ x: V, _ y: V) -> V where V.Scalar: FloatingPoint { acc.addingProduct(x, y) }
}

enum Separate: MultiplyAdd {
    @inline(__always)
    static func apply<V: SIMD>(_ acc: V, _ x: V, _ y: V) -> V where V.Scalar: FloatingPoint { acc + x * y }
}

/// The process-wide multiply-add of the GEMM kernels: fused when this build makes it fast.
///
/// Fused and separate multiply-adds round differently, so this choice must not flip between two
/// runs of the same binary, or "same seed, same backend, same bits" breaks. It therefore depends
/// only on how the binary was compiled, which the timing reveals with a wide margin: with FMA
/// compiled in (and in debug builds, where both are slow), fused takes 0.7–1.6× separate's time;
/// without it, fused is a libm call per lane and 40–50× slower (measured here). The 8× threshold
/// sits far from both, so load on the machine cannot move a measurement across it. `NN_NATIVE_FMA=on|off` overrides the measurement.
enum GemmArithmetic {
    static let environmentVariable = "NN_NATIVE_FMA"

    static let fused: Bool = {
        switch ProcessInfo.processInfo.environment[environmentVariable]?.lowercased() {
        case "on", "1", "true": return true
        case "off", "0", "false": return false
        default:
            let fusedTime = GemmTile.timeKernel(Tile8x2<SIMD16<Float>, Fused>.self)
            let separateTime = GemmTile.timeKernel(Tile8x2<SIMD16<Float>, Separate>.self)
            return fusedTime <= 8 * separateTime
        }
    }()
}

/// 8 rows × 2 vectors: 16 accumulators + 2 B vectors + 1 broadcast fit 32 registers.
/// Each step of p: 2 vector loads and 8 broadcasts feed 16 multiply-adds.
enum Tile8x2<V: SIMD, Arithmetic: MultiplyAdd>: TileKernel where V.Scalar: NativeScalar {
    typealias Scalar = V.Scalar
    static var mr: Int { 8 }
    static var nr: Int { 2 * V.scalarCount }

    // Not inlined: inside the packing loop nest the register allocator spills accumulators;
    // on its own the kernel keeps all of them in registers. The call costs nothing next to kc steps.
    @inline(never)
    static func run(kc: Int, a: UnsafeMutablePointer<Scalar>, b: UnsafeMutablePointer<Scalar>,
                    c: UnsafeMutablePointer<Scalar>, ldc: Int, alpha: Scalar, beta: Scalar, betaIsZero: Bool) {
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
        let bRaw = UnsafeRawPointer(b)
        let step = MemoryLayout<V>.stride
        var ap = a
        for p in 0..<kc {
            let b0 = bRaw.load(fromByteOffset: 2 * p * step, as: V.self)
            let b1 = bRaw.load(fromByteOffset: (2 * p + 1) * step, as: V.self)
            var x = V(repeating: ap[0]); c00 = Arithmetic.apply(c00, x, b0); c01 = Arithmetic.apply(c01, x, b1)
            x = V(repeating: ap[1]); c10 = Arithmetic.apply(c10, x, b0); c11 = Arithmetic.apply(c11, x, b1)
            x = V(repeating: ap[2]); c20 = Arithmetic.apply(c20, x, b0); c21 = Arithmetic.apply(c21, x, b1)
            x = V(repeating: ap[3]); c30 = Arithmetic.apply(c30, x, b0); c31 = Arithmetic.apply(c31, x, b1)
            x = V(repeating: ap[4]); c40 = Arithmetic.apply(c40, x, b0); c41 = Arithmetic.apply(c41, x, b1)
            x = V(repeating: ap[5]); c50 = Arithmetic.apply(c50, x, b0); c51 = Arithmetic.apply(c51, x, b1)
            x = V(repeating: ap[6]); c60 = Arithmetic.apply(c60, x, b0); c61 = Arithmetic.apply(c61, x, b1)
            x = V(repeating: ap[7]); c70 = Arithmetic.apply(c70, x, b0); c71 = Arithmetic.apply(c71, x, b1)
            ap += 8
        }
        let out = TileStore<V>(c: c, ldc: ldc, alpha: alpha, beta: beta, betaIsZero: betaIsZero)
        out.row(0, c00, c01); out.row(1, c10, c11); out.row(2, c20, c21); out.row(3, c30, c31)
        out.row(4, c40, c41); out.row(5, c50, c51); out.row(6, c60, c61); out.row(7, c70, c71)
    }
}

/// 6 rows × 2 vectors: 12 accumulators + 2 B vectors + 1 broadcast fit 16 registers.
enum Tile6x2<V: SIMD, Arithmetic: MultiplyAdd>: TileKernel where V.Scalar: NativeScalar {
    typealias Scalar = V.Scalar
    static var mr: Int { 6 }
    static var nr: Int { 2 * V.scalarCount }

    // Not inlined: inside the packing loop nest the register allocator spills accumulators;
    // on its own the kernel keeps all of them in registers. The call costs nothing next to kc steps.
    @inline(never)
    static func run(kc: Int, a: UnsafeMutablePointer<Scalar>, b: UnsafeMutablePointer<Scalar>,
                    c: UnsafeMutablePointer<Scalar>, ldc: Int, alpha: Scalar, beta: Scalar, betaIsZero: Bool) {
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        let bRaw = UnsafeRawPointer(b)
        let step = MemoryLayout<V>.stride
        var ap = a
        for p in 0..<kc {
            let b0 = bRaw.load(fromByteOffset: 2 * p * step, as: V.self)
            let b1 = bRaw.load(fromByteOffset: (2 * p + 1) * step, as: V.self)
            var x = V(repeating: ap[0]); c00 = Arithmetic.apply(c00, x, b0); c01 = Arithmetic.apply(c01, x, b1)
            x = V(repeating: ap[1]); c10 = Arithmetic.apply(c10, x, b0); c11 = Arithmetic.apply(c11, x, b1)
            x = V(repeating: ap[2]); c20 = Arithmetic.apply(c20, x, b0); c21 = Arithmetic.apply(c21, x, b1)
            x = V(repeating: ap[3]); c30 = Arithmetic.apply(c30, x, b0); c31 = Arithmetic.apply(c31, x, b1)
            x = V(repeating: ap[4]); c40 = Arithmetic.apply(c40, x, b0); c41 = Arithmetic.apply(c41, x, b1)
            x = V(repeating: ap[5]); c50 = Arithmetic.apply(c50, x, b0); c51 = Arithmetic.apply(c51, x, b1)
            ap += 6
        }
        let out = TileStore<V>(c: c, ldc: ldc, alpha: alpha, beta: beta, betaIsZero: betaIsZero)
        out.row(0, c00, c01); out.row(1, c10, c11); out.row(2, c20, c21)
        out.row(3, c30, c31); out.row(4, c40, c41); out.row(5, c50, c51)
    }
}

/// Writes one row of accumulators: C ← α·acc (+ β·C unless β is zero), unaligned.
struct TileStore<V: SIMD> where V.Scalar: NativeScalar {
    let c: UnsafeMutablePointer<V.Scalar>
    let ldc: Int
    let alpha: V.Scalar, beta: V.Scalar
    let betaIsZero: Bool

    @inline(__always)
    func row(_ i: Int, _ lo: V, _ hi: V) {
        let dst = UnsafeMutableRawPointer(c + i * ldc)
        let size = MemoryLayout<V>.size
        let av = V(repeating: alpha)
        var r0 = av * lo, r1 = av * hi
        if !betaIsZero {
            let bv = V(repeating: beta)
            r0 = r0 + bv * dst.loadUnaligned(as: V.self)
            r1 = r1 + bv * dst.loadUnaligned(fromByteOffset: size, as: V.self)
        }
        dst.storeBytes(of: r0, as: V.self)
        dst.storeBytes(of: r1, toByteOffset: size, as: V.self)
    }
}
