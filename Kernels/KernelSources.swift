/// OpenCL C sources of every kernel family, embedded in the binary at build time
/// (SwiftPM `.embedInCode`), so a deployed `nn` never looks for `.cl` files on disk.
public enum KernelSources {
    public static let gemm = text(PackageResources.gemm_cl)
    public static let elementwise = text(PackageResources.elementwise_cl)
    public static let reduction = text(PackageResources.reduction_cl)
    public static let batchnorm = text(PackageResources.batchnorm_cl)
    public static let softmax = text(PackageResources.softmax_cl)
    public static let dropout = text(PackageResources.dropout_cl)
    public static let optimizers = text(PackageResources.optimizers_cl)

    /// Every family, in the order they are concatenated into one program.
    public static let all: [(name: String, source: String)] = [
        ("gemm", gemm), ("elementwise", elementwise), ("reduction", reduction), ("batchnorm", batchnorm),
        ("softmax", softmax), ("dropout", dropout), ("optimizers", optimizers),
    ]

    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
