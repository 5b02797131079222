import Foundation
import NNCore

/// The kernel shapes of the memory-bound ops: softmax and the classifier heads, batch normalisation,
/// column sums, the element-wise ops, dropout and the optimizer updates (GEMM has its own families,
/// ``GemmTuning``).
///
/// Both families compute the same values with the same numerics (max-shifted softmax, two-pass
/// Kahan-compensated batch statistics, the same per-element arithmetic); they differ in what suits
/// the hardware:
public enum MemoryKernelFamily: String, Sendable, Codable, CaseIterable {
    /// The CPU shape: one work-item per row (softmax) or per 64-feature column block over all rows
    /// (batch norm), in explicit float16 vectors, each op one kernel whose later passes re-read from
    /// cache; one work-item per column and chunk of rows for column sums; one element per work-item
    /// in the element-wise, dropout and optimizer kernels. For CPU drivers, which run a work-group
    /// as a loop and do not vectorise across work-items that loop.
    case vector
    /// The GPU shape: a work-group per row (or a few narrow rows) for softmax, with the row held in
    /// registers as float4 and its max and exponential sum combined in one local-memory tree; batch
    /// norm and column sums as coalesced column reductions in two levels (work-groups of 32 columns ×
    /// 8 row lanes per chunk of rows, each lane loading four rows at a time, then a pass combining
    /// the chunks); float4 grid-stride loops for the element-wise, dropout and optimizer kernels. The
    /// parallelism, wide loads and loads in flight a GPU needs.
    case workGroup

    /// The environment variable that overrides the choice for every backend of the process:
    /// `gpu` (``workGroup``), `cpu` (``vector``) or `auto` (the device's default). It lets the GPU
    /// shapes be verified on a CPU driver such as PoCL.
    public static let environmentVariable = "NN_OPENCL_KERNEL_SHAPES"

    /// Work-items in one work-group of the GPU shape (its batch-norm kernels require exactly this many).
    static let workGroupItems = 256

    /// ``vector`` on CPU devices and on devices whose work-groups cannot hold 256 items, ``workGroup`` elsewhere.
    public static func defaults(for device: OpenCLDeviceInfo) -> MemoryKernelFamily {
        device.type == .cpu || device.maxWorkGroupSize < workGroupItems ? .vector : .workGroup
    }

    /// The family `setting` (a value of ``environmentVariable``) selects on `device`; unset, empty
    /// or `auto` is ``defaults(for:)``.
    ///
    /// - Throws: `NNError.invalidArgument` for any other value, so a typo never silently runs the
    ///   shapes it meant to avoid.
    public static func resolve(_ setting: String?, for device: OpenCLDeviceInfo) throws -> MemoryKernelFamily {
        switch normalized(setting) {
        case "", "auto": return defaults(for: device)
        case "gpu":
            guard device.maxWorkGroupSize >= workGroupItems else {
                throw NNError.invalidArgument(
                    op: environmentVariable,
                    detail: "gpu shapes need work-groups of \(workGroupItems) items; \(device.name) allows \(device.maxWorkGroupSize)")
            }
            return .workGroup
        case "cpu": return .vector
        case let other:
            throw NNError.invalidArgument(
                op: environmentVariable, detail: "'\(other)' is not one of gpu, cpu, auto")
        }
    }

    /// Whether `setting` (a value of ``environmentVariable``) is unset, empty or `auto`.
    static func leavesTheChoiceToTheLibrary(_ setting: String?) -> Bool {
        ["", "auto"].contains(normalized(setting))
    }

    private static func normalized(_ setting: String?) -> String {
        setting?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
    }

    /// What `nn devices` and error messages call the family: "GPU" or "CPU".
    public var shapeName: String { self == .workGroup ? "GPU" : "CPU" }
}
