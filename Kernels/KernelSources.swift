/// OpenCL C sources of every op family (one `.cl` file per family, named like the NNCore
/// `Backend+<Family>.swift` it implements), embedded in the binary at build time
/// (SwiftPM `.embedInCode`), so a deployed `nn` never looks for `.cl` files on disk.
public enum KernelSources {
    /// What every family shares (the helper-function qualifier), first in the program.
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

    /// Every family, in the order they are concatenated into one program.
    public static let all: [(name: String, source: String)] = [
        ("prelude", prelude), ("gemm", gemm), ("algebra", algebra), ("elementwise", elementwise), ("batchnorm", batchnorm),
        ("classifierheads", classifierheads), ("dropout", dropout), ("optimizers", optimizers),
    ]

    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
