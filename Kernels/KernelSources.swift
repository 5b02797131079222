/// OpenCL C sources of every op family (one `.cl` file per family, named like the NNCore
/// `Backend+<Family>.swift` it implements), embedded in the binary at build time
/// (SwiftPM `.embedInCode`), so a deployed `nn` never looks for `.cl` files on disk.
public enum KernelSources {
    /// What every family shares (the helper-function qualifier), first in each program.
    public static let prelude = text(PackageResources.prelude_cl)
    /// The GEMM kernels of the algebra family, in a file of their own: their text keys the autotuner's cache.
    public static let gemm = text(PackageResources.gemm_cl)
    /// The rest of the algebra family: bias rows and reductions (whose helpers later families use).
    public static let algebra = text(PackageResources.algebra_cl)
    public static let elementwise = text(PackageResources.elementwise_cl)
    public static let batchnorm = text(PackageResources.batchnorm_cl)
    public static let classifierheads = text(PackageResources.classifierheads_cl)
    public static let dropout = text(PackageResources.dropout_cl)
    public static let optimizers = text(PackageResources.optimizers_cl)

    /// The GEMM program. Its build options carry a GEMM tuning's kernel family and tile sizes, so it is
    /// built once per tuning (twice for a GPU backend, whose shape classes have their own, and once per
    /// candidate the autotuner tries); its text alone keys the tuning cache.
    public static let gemmProgram: [(name: String, source: String)] = [("prelude", prelude), ("gemm", gemm)]

    /// Every other family, in the order they are concatenated (a family may use the helpers of those
    /// before it): memory-bound kernels whose build does not depend on the GEMM tuning, so one build
    /// per device serves every backend and every autotuner candidate.
    public static let memoryBoundProgram: [(name: String, source: String)] = [
        ("prelude", prelude), ("algebra", algebra), ("elementwise", elementwise), ("batchnorm", batchnorm),
        ("classifierheads", classifierheads), ("dropout", dropout), ("optimizers", optimizers),
    ]

    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
