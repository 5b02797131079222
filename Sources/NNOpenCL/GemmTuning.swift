import NNCore

/// Which GEMM kernel family runs, and its tile sizes (all passed to the compiler as `-D` macros, see
/// `Kernels/gemm.cl`). Each distinct set of the family's sizes builds its own GEMM program, once per
/// process, holding that family's kernels only.
public struct GemmTuning: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The kernel's shape: how work-items map onto the tiles of C.
    public enum Family: String, Sendable, Codable, CaseIterable {
        /// Explicit-vector micro-kernels, one MR × (NV·VW) block of C per work-item: for CPU drivers,
        /// which run a work-group as a loop and cannot keep register tiles across barriers.
        case vector
        /// Local-memory tiles shared by a work-group, an MWI × NWI register block per work-item, vector
        /// loads, padded and double-buffered local tiles and split K: for GPUs.
        case tiled
    }

    public var family: Family
    // Vector family: rows per work-item, float vector width, vectors per row.
    public var mr: Int
    public var vectorWidth: Int
    public var vectorsPerRow: Int
    /// Vector family, narrow products (N ≤ vector width, e.g. a 10-class output layer): rows per work-item.
    public var narrowRows: Int
    /// Vector family: copy A into MR-row panels before the product (BLAS-style). It pays where A's rows
    /// alias in cache, never for A^T, which is read in place; the autotuner decides per device.
    public var packA: Bool
    // Tiled family, CLBlast names: work-group tile MWG × NWG, k step KWG, work-group MDIMC × NDIMC
    // (each work-item an MWG/MDIMC × NWG/NDIMC block of C).
    public var mwg: Int
    public var nwg: Int
    public var kwg: Int
    public var mdimc: Int
    public var ndimc: Int
    /// Tiled family: vector width of op(A)'s global loads and local reads (VWM: 1, 2, 4 or 8).
    public var vwm: Int
    /// Tiled family: vector width of op(B)'s global loads, local reads and C's stores (VWN).
    public var vwn: Int
    /// Tiled family: a work-item's rows strided by MDIMC·VWM rather than contiguous (STRM).
    public var strm: Bool
    /// Tiled family: a work-item's columns strided by NDIMC·VWN rather than contiguous (STRN).
    public var strn: Bool
    /// Tiled family: floats of padding per k-row of the local op(A) and op(B) tiles (PADA, PADB).
    public var padA: Int
    public var padB: Int
    /// Tiled family: prefetch the next k step into registers and alternate two local buffers (DBUF).
    public var doubleBuffer: Bool
    /// Tiled family: inner k loop unrolled in groups of KWI steps.
    public var kwi: Int
    /// Tiled family: the most slices K may be cut into (split K, see `Kernels/gemm.cl`); 1 never splits.
    /// A run-time choice, not a `-D` macro: the host caps it by K and by how many tiles C already has.
    public var kSplit: Int

    public init(family: Family, mr: Int = 8, vectorWidth: Int = 16, vectorsPerRow: Int = 2,
                narrowRows: Int = 16, packA: Bool = false,
                mwg: Int = 128, nwg: Int = 128, kwg: Int = 16, mdimc: Int = 16, ndimc: Int = 16,
                vwm: Int = 4, vwn: Int = 4, strm: Bool = false, strn: Bool = true, padA: Int = 4, padB: Int = 4,
                doubleBuffer: Bool = true, kwi: Int = 2, kSplit: Int = 1) {
        self.family = family
        self.mr = mr
        self.vectorWidth = vectorWidth
        self.vectorsPerRow = vectorsPerRow
        self.narrowRows = narrowRows
        self.packA = packA
        self.mwg = mwg
        self.nwg = nwg
        self.kwg = kwg
        self.mdimc = mdimc
        self.ndimc = ndimc
        self.vwm = vwm
        self.vwn = vwn
        self.strm = strm
        self.strn = strn
        self.padA = padA
        self.padB = padB
        self.doubleBuffer = doubleBuffer
        self.kwi = kwi
        self.kSplit = kSplit
    }

    /// Columns of C per vector work-item.
    var nr: Int { vectorsPerRow * vectorWidth }

    /// The tiled family's square-class default for GPUs, the point the autotuner must beat.
    ///
    /// 128 × 128 work-group tiles of 16 × 16 work-items, 8 × 8 outputs each, k steps of 16: the shape
    /// of the fastest published hand-written SGEMMs on NVIDIA Ampere/Hopper and AMD RDNA/CDNA (and of
    /// CLBlast's larger tuned entries, e.g. 64 × 128 tiles with 4 × 16 per work-item on Maxwell/Pascal).
    /// 64 accumulators plus two float4 prefetch registers per operand stay near 100 registers, so two
    /// 256-item work-groups fit per NVIDIA SM (65536 registers) and per AMD CU; each k step then costs
    /// 16 local float4 reads against 64·16 FMAs, enough to keep the FMA units busy. float4 is the widest
    /// single load on both vendors. Strided columns (STRN) make a warp's local reads of B consecutive
    /// float4s (conflict-free) and its C stores coalesced; a work-item's rows stay contiguous because
    /// the work-items of one warp share them (local-memory broadcast). Four floats of padding halve the
    /// bank conflicts of the transposing stores (A untransposed, B transposed) and keep rows float4-
    /// aligned. Double buffering: 2 × 2 × 16 × 132 floats = 33 KiB, inside NVIDIA's 48 KiB per work-group
    /// and AMD's 64 KiB.
    public static let gpuSquareDefault = GemmTuning(family: .tiled)

    /// The tiled family's skinny-class default for GPUs: the batch-256 MLP products, whose C has 8–32
    /// tiles of 128 × 128, a tenth of a large GPU's compute units. 64 × 64 tiles (4 × 4 per work-item,
    /// still float4) quadruple the tile count and split K (up to 4 slices, see `Kernels/gemm.cl`)
    /// multiplies it again, so (256 × 784)·(784 × 512) runs 128 work-groups, about one per compute
    /// unit of an H100/H200 or MI300, at the cost of one extra pass over C.
    public static let gpuSkinnyDefault = GemmTuning(family: .tiled, mwg: 64, nwg: 64, kwg: 16, mdimc: 16, ndimc: 16,
                                                    vwm: 4, vwn: 4, strm: false, strn: true, padA: 4, padB: 4,
                                                    doubleBuffer: true, kwi: 2, kSplit: 4)

    /// `preferred`, then smaller tunings for GPUs it does not fit, each keeping its split-K limit.
    ///
    /// NVIDIA allows 48 KiB of local memory per work-group and AMD 64 KiB, but Apple's, ARM Mali's and
    /// Qualcomm Adreno's OpenCL drivers (and some older AMD ones) allow 32 KiB, where the square
    /// default's double-buffered 33 KiB would fail every large product with CL_OUT_OF_RESOURCES;
    /// single buffering halves it. Some mobile GPUs also stop at 64 or 128 work-items per group:
    /// 64 × 64 tiles of 8 × 8 items keep 8 × 8 outputs and float4 loads per item. The last (16 × 16 tiles
    /// of 4 × 4 scalar items, 1 KiB) runs on anything with 16 work-items. `nn devices --tune` finds
    /// better on any of these devices; the chain only makes an untuned one work.
    public static func gpuFallbacks(from preferred: GemmTuning) -> [GemmTuning] {
        var singleBuffered = preferred
        singleBuffered.doubleBuffer = false
        let sixtyFourItems = GemmTuning(family: .tiled, mwg: 64, nwg: 64, kwg: 16, mdimc: 8, ndimc: 8, vwm: 4, vwn: 4,
                                        strm: false, strn: true, padA: 4, padB: 4, doubleBuffer: false, kwi: 2,
                                        kSplit: preferred.kSplit)
        let minimal = GemmTuning(family: .tiled, mwg: 16, nwg: 16, kwg: 8, mdimc: 4, ndimc: 4, vwm: 1, vwn: 1,
                                 strm: false, strn: true, padA: 0, padB: 0, doubleBuffer: false, kwi: 1,
                                 kSplit: preferred.kSplit)
        return [preferred, singleBuffered, sixtyFourItems, minimal]
    }

    /// Whether `device` can launch this tuning at all: for the tiled family, a work-group of
    /// MDIMC·NDIMC items within the device's limit and the local tiles (``tiledLocalMemoryBytes``)
    /// within its local memory; past either, every launch fails with CL_OUT_OF_RESOURCES. The vector
    /// family has neither requirement.
    public func isRunnable(on device: OpenCLDeviceInfo) -> Bool {
        family == .vector
            || (mdimc * ndimc <= device.maxWorkGroupSize && UInt64(tiledLocalMemoryBytes) <= device.localMemoryBytes)
    }

    /// Throws unless ``isRunnable(on:)``; the message names the limit and the way out.
    func validate(on device: OpenCLDeviceInfo) throws {
        guard !isRunnable(on: device) else { return }
        throw NNError.invalidArgument(
            op: "GEMM tuning",
            detail: "\(self) needs work-groups of \(mdimc * ndimc) items and \(tiledLocalMemoryBytes) bytes of local memory; "
                + "\(device.name) allows \(device.maxWorkGroupSize) items and \(device.localMemoryBytes) bytes. "
                + "Choose smaller tiles (or drop DBUF), or let `nn devices --tune` find a tuning for this device")
    }

    /// The defaults for a device: the vector family on CPUs, with the vector width the driver prefers
    /// (16 lanes fill AVX-512, where 8 rows × 2 vectors use 16 of the 32 registers; with 8 lanes,
    /// AVX2's 16 registers fit 6 rows × 2 vectors); the tiled family elsewhere (``gpuSquareDefault``).
    public static func defaults(for device: OpenCLDeviceInfo) -> GemmTuning {
        defaults(for: device, shapeClass: .square)
    }

    /// The defaults for a device and shape class: on CPUs one vector tuning for every shape, elsewhere
    /// ``gpuSquareDefault`` or ``gpuSkinnyDefault``, or the first of ``gpuFallbacks(from:)`` the
    /// device can run when its local memory or work-group limit is smaller than they need.
    public static func defaults(for device: OpenCLDeviceInfo, shapeClass: GemmShapeClass) -> GemmTuning {
        guard device.type == .cpu else {
            let chain = gpuFallbacks(from: shapeClass == .square ? gpuSquareDefault : gpuSkinnyDefault)
            // The last needs 16 work-items and 1 KiB; a device below that fails at the backend's check.
            return chain.first { $0.isRunnable(on: device) } ?? chain[chain.count - 1]
        }
        if device.preferredFloatVectorWidth >= 16 {
            return GemmTuning(family: .vector, mr: 8, vectorWidth: 16, vectorsPerRow: 2, narrowRows: 16)
        }
        return GemmTuning(family: .vector, mr: 6, vectorWidth: 8, vectorsPerRow: 2, narrowRows: 12)
    }

    /// Throws unless the sizes satisfy the kernels' divisibility rules; the message names the rule.
    public func validate() throws {
        func fail(_ why: String) -> NNError {
            .invalidArgument(op: "GEMM tuning", detail: "\(self): \(why)")
        }
        guard [2, 4, 8, 16].contains(vectorWidth) else { throw fail("vector width must be 2, 4, 8 or 16") }
        guard (1...16).contains(mr), (1...8).contains(vectorsPerRow), (1...32).contains(narrowRows) else {
            throw fail("MR must lie in 1…16, NV in 1…8 and the narrow rows in 1…32")
        }
        // The tiled family's sizes are compiled into every program (the kernel table creates every
        // kernel), so they must be valid whichever family runs.
        for v in [mwg, nwg, kwg, mdimc, ndimc] where !(1...1024).contains(v) { throw fail("every tile size must lie in 1…1024") }
        guard [1, 2, 4, 8].contains(vwm), [1, 2, 4, 8].contains(vwn) else { throw fail("VWM and VWN must be 1, 2, 4 or 8") }
        guard mwg % (mdimc * vwm) == 0 else { throw fail("MWG must divide by MDIMC·VWM (whole VWM vectors per work-item)") }
        guard nwg % (ndimc * vwn) == 0 else { throw fail("NWG must divide by NDIMC·VWN (whole VWN vectors per work-item)") }
        guard kwg % vwm == 0, kwg % vwn == 0 else { throw fail("KWG must divide by VWM and VWN (vector loads along k)") }
        let items = mdimc * ndimc
        guard (mwg * kwg) % (vwm * items) == 0, (kwg * nwg) % (vwn * items) == 0 else {
            throw fail("MWG·KWG/VWM and KWG·NWG/VWN must divide by the work-group size MDIMC·NDIMC (whole vectors per work-item)")
        }
        guard (0...32).contains(padA), (0...32).contains(padB) else { throw fail("PADA and PADB must lie in 0…32") }
        guard kwi >= 1, kwg % kwi == 0 else { throw fail("KWI must be ≥ 1 and divide KWG") }
        guard (1...64).contains(kSplit) else { throw fail("the split-K limit must lie in 1…64") }
    }

    /// Bytes of local memory one work-group of the tiled family takes (both operands' tiles, padded,
    /// twice when double-buffered, each rounded to whole vectors as the kernel declares them).
    public var tiledLocalMemoryBytes: Int {
        func buffer(_ stride: Int, _ width: Int) -> Int { (kwg * stride + width - 1) / width * width }
        return (doubleBuffer ? 2 : 1) * (buffer(mwg + padA, vwm) + buffer(nwg + padB, vwn)) * MemoryLayout<Float>.size
    }

    /// A rough count of the 32-bit registers one tiled work-item needs: the accumulators, one k step's
    /// operands, the prefetched vectors, and about 24 for indices and pointers. Compilers differ by a
    /// few either way; the autotuner uses it only to skip tilings that would certainly spill.
    public var tiledRegisterEstimate: Int {
        let mwi = mwg / mdimc, nwi = nwg / ndimc, items = mdimc * ndimc
        let prefetch = (mwg * kwg + kwg * nwg) / items
        return mwi * nwi + mwi + nwi + prefetch + 24
    }

    /// How the tiled family cuts K for an m × n × k product on a device with `computeUnits`: `count`
    /// slices of `length` (a whole number of KWG steps; the last slice may be shorter).
    ///
    /// Up to ``kSplit`` slices, while each keeps at least two k steps (shorter slices would spend more
    /// on the extra pass over C than the split gains) and tiles × slices stay within four work-groups
    /// per compute unit (beyond that the device is full already). One slice for a large C, whose
    /// tiles occupy the device by themselves.
    public func kSlices(m: Int, n: Int, k: Int, computeUnits: Int) -> (count: Int, length: Int) {
        let tiles = ((m + mwg - 1) / mwg) * ((n + nwg - 1) / nwg)
        let wanted = min(kSplit, max(1, k / (2 * kwg)), max(1, 4 * max(1, computeUnits) / max(1, tiles)))
        guard wanted > 1 else { return (1, k) }
        // Recount after rounding the length up to whole k steps, so that no slice is empty.
        let length = ((k + wanted - 1) / wanted + kwg - 1) / kwg * kwg
        return ((k + length - 1) / length, length)
    }

    /// The `-D` options that choose the family in `Kernels/gemm.cl` (a program holds one) and fix its
    /// sizes; the other family's fields do not reach the compiler, so they never split a program.
    var buildOptions: String {
        switch family {
        case .vector:
            "-DGEMM_FAMILY=2 -DMR=\(mr) -DVW=\(vectorWidth) -DNV=\(vectorsPerRow) -DMRN=\(narrowRows)"
        case .tiled:
            "-DGEMM_FAMILY=1 -DMWG=\(mwg) -DNWG=\(nwg) -DKWG=\(kwg) -DMDIMC=\(mdimc) -DNDIMC=\(ndimc) -DVWM=\(vwm) -DVWN=\(vwn) "
                + "-DSTRM=\(strm ? 1 : 0) -DSTRN=\(strn ? 1 : 0) -DPADA=\(padA) -DPADB=\(padB) -DDBUF=\(doubleBuffer ? 1 : 0) -DKWI=\(kwi)"
        }
    }

    public var description: String {
        switch family {
        case .vector: return "vector(MR=\(mr), VW=\(vectorWidth), NV=\(vectorsPerRow), narrow MR=\(narrowRows)\(packA ? ", packed A" : ""))"
        case .tiled:
            return "tiled(MWG=\(mwg), NWG=\(nwg), KWG=\(kwg), MDIMC=\(mdimc), NDIMC=\(ndimc), VWM=\(vwm), VWN=\(vwn), "
                + "STRM=\(strm ? 1 : 0), STRN=\(strn ? 1 : 0), PADA=\(padA), PADB=\(padB), DBUF=\(doubleBuffer ? 1 : 0), "
                + "KWI=\(kwi), split K ≤ \(kSplit))"
        }
    }
}

/// The two kinds of product the autotuner tunes, and the backend picks a tuning for, separately.
///
/// Large products want big tiles (the most arithmetic per byte of local memory); products whose C
/// is small want small tiles and split K, or they leave most of a GPU idle.
public enum GemmShapeClass: String, Sendable, Codable, CaseIterable {
    /// C has at least 2²⁰ elements (1024 × 1024 or the like).
    case square
    /// C has fewer than 2²⁰ elements: with 128 × 128 tiles, fewer than 64 work-groups, under half the
    /// compute units of a large GPU. The batch-256 MLP layers and their gradients are all here.
    case skinny

    /// The class of a product whose C is m × n (k does not decide it: split K is the remedy for a
    /// long k under a small C).
    public static func of(m: Int, n: Int) -> GemmShapeClass {
        m * n >= 1 << 20 ? .square : .skinny
    }
}
