import NNCore

/// Which GEMM kernel family runs, and its tile sizes (all passed to the compiler as `-D` macros, see
/// `Kernels/gemm.cl`). Each distinct tuning builds its own program, once per process.
public struct GemmTuning: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The kernel's shape: how work-items map onto the tiles of C.
    public enum Family: String, Sendable, Codable, CaseIterable {
        /// Explicit-vector micro-kernels, one MR × (NV·VW) block of C per work-item: for CPU drivers,
        /// which run a work-group as a loop and cannot keep register tiles across barriers.
        case vector
        /// Local-memory tiles shared by a work-group, an MWI × NWI register block per work-item: for GPUs.
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
    // Tiled family (CLBlast names): work-group tile MWG × NWG, k step KWG, work-group MDIMC × NDIMC.
    public var mwg: Int
    public var nwg: Int
    public var kwg: Int
    public var mdimc: Int
    public var ndimc: Int

    public init(family: Family, mr: Int = 8, vectorWidth: Int = 16, vectorsPerRow: Int = 2,
                narrowRows: Int = 16, packA: Bool = false,
                mwg: Int = 64, nwg: Int = 64, kwg: Int = 16, mdimc: Int = 16, ndimc: Int = 16) {
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
    }

    /// Columns of C per vector work-item.
    var nr: Int { vectorsPerRow * vectorWidth }

    /// The defaults for a device: the vector family on CPUs, with the vector width the driver prefers
    /// (16 lanes fill AVX-512, where 8 rows × 2 vectors use 16 of the 32 registers; with 8 lanes,
    /// AVX2's 16 registers fit 6 rows × 2 vectors); the tiled family elsewhere.
    public static func defaults(for device: OpenCLDeviceInfo) -> GemmTuning {
        guard device.type == .cpu else { return GemmTuning(family: .tiled) }
        if device.preferredFloatVectorWidth >= 16 {
            return GemmTuning(family: .vector, mr: 8, vectorWidth: 16, vectorsPerRow: 2, narrowRows: 16)
        }
        return GemmTuning(family: .vector, mr: 6, vectorWidth: 8, vectorsPerRow: 2, narrowRows: 12)
    }

    /// Throws unless the sizes satisfy the kernels' divisibility rules.
    public func validate() throws {
        func fail(_ why: String) -> NNError {
            .invalidArgument(op: "GEMM tuning", detail: "\(self): \(why)")
        }
        guard [2, 4, 8, 16].contains(vectorWidth) else { throw fail("vector width must be 2, 4, 8 or 16") }
        guard (1...16).contains(mr), (1...8).contains(vectorsPerRow), (1...32).contains(narrowRows) else {
            throw fail("MR must lie in 1…16, NV in 1…8 and the narrow rows in 1…32")
        }
        for v in [mwg, nwg, kwg, mdimc, ndimc] where v < 1 { throw fail("every tile size must be ≥ 1") }
        guard mwg % mdimc == 0, nwg % ndimc == 0 else { throw fail("MWG must divide by MDIMC and NWG by NDIMC") }
        let items = mdimc * ndimc
        guard (mwg * kwg) % items == 0, (kwg * nwg) % items == 0 else {
            throw fail("MWG·KWG and KWG·NWG must divide by the work-group size MDIMC·NDIMC")
        }
    }

    /// The `-D` options that fix every tile size in `Kernels/gemm.cl`.
    var buildOptions: String {
        "-DMR=\(mr) -DVW=\(vectorWidth) -DNV=\(vectorsPerRow) -DMRN=\(narrowRows) "
            + "-DMWG=\(mwg) -DNWG=\(nwg) -DKWG=\(kwg) -DMDIMC=\(mdimc) -DNDIMC=\(ndimc)"
    }

    public var description: String {
        switch family {
        case .vector: return "vector(MR=\(mr), VW=\(vectorWidth), NV=\(vectorsPerRow), narrow MR=\(narrowRows)\(packA ? ", packed A" : ""))"
        case .tiled: return "tiled(MWG=\(mwg), NWG=\(nwg), KWG=\(kwg), MDIMC=\(mdimc), NDIMC=\(ndimc))"
        }
    }
}
