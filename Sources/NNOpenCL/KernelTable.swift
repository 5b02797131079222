import COpenCL
import NNCore

/// Every kernel the backend launches, by its name in `Kernels/*.cl`.
enum KernelName: String, CaseIterable {
    // gemm.cl
    case gemmTiledNN = "gemm_tiled_nn", gemmTiledNT = "gemm_tiled_nt", gemmTiledTN = "gemm_tiled_tn", gemmTiledTT = "gemm_tiled_tt"
    case gemmVector = "gemm_vector", gemmVectorNarrow = "gemm_vector_narrow"
    case gemmPackA = "gemm_pack_a", gemmPackB = "gemm_pack_b", gemmPackBNarrow = "gemm_pack_b_narrow"
    case gemmSplitKReduce = "gemm_splitk_reduce"
    // elementwise.cl
    case fill, copy, scale, axpy, multiply
    case reluForward = "relu_forward", tanhForward = "tanh_forward", sigmoidForward = "sigmoid_forward"
    case reluBackward = "relu_backward", tanhBackward = "tanh_backward", sigmoidBackward = "sigmoid_backward"
    case fillV4 = "fill_v4", copyV4 = "copy_v4", scaleV4 = "scale_v4", axpyV4 = "axpy_v4", multiplyV4 = "multiply_v4"
    case reluForwardV4 = "relu_forward_v4", tanhForwardV4 = "tanh_forward_v4", sigmoidForwardV4 = "sigmoid_forward_v4"
    case reluBackwardV4 = "relu_backward_v4", tanhBackwardV4 = "tanh_backward_v4", sigmoidBackwardV4 = "sigmoid_backward_v4"
    // algebra.cl
    case addRowVector = "add_row_vector"
    case reducePartials = "reduce_partials", reduceFinish = "reduce_finish"
    case columnPartials = "column_partials", columnFinish = "column_finish"
    case columnPartialsLanes = "column_partials_lanes", columnFinishLanes = "column_finish_lanes"
    // batchnorm.cl
    case bnStatisticsPartials = "bn_statistics_partials", bnStatisticsFinish = "bn_statistics_finish"
    case bnNormalize = "bn_normalize", bnInference = "bn_inference", bnInferenceV4 = "bn_inference_v4"
    case bnBackwardPartials = "bn_backward_partials", bnBackwardFinish = "bn_backward_finish", bnBackwardDx = "bn_backward_dx"
    case bnForwardColumns = "bn_forward_columns", bnBackwardColumns = "bn_backward_columns"
    case bnForwardColumnGroups = "bn_forward_column_groups", bnBackwardColumnGroups = "bn_backward_column_groups"
    // classifierheads.cl
    case softmaxRows = "softmax_rows", softmaxXent = "softmax_xent", sigmoidXent = "sigmoid_xent", argmaxRows = "argmax_rows"
    case softmaxRowsVector = "softmax_rows_vector", softmaxXentVector = "softmax_xent_vector", headTotals = "head_totals"
    // dropout.cl
    case dropoutForward = "dropout_forward", dropoutForwardV4 = "dropout_forward_v4"
    // optimizers.cl
    case updateSGD = "update_sgd", updateMomentum = "update_momentum", updateRMSprop = "update_rmsprop", updateAdam = "update_adam"
    case updateSGDV4 = "update_sgd_v4", updateMomentumV4 = "update_momentum_v4", updateRMSpropV4 = "update_rmsprop_v4"
    case updateAdamV4 = "update_adam_v4", updateV4Multi = "update_v4_multi"

    /// The program that holds the kernel: gemm.cl's kernels that of their family, the rest the memory-bound one.
    var part: ProgramPart {
        switch self {
        case .gemmTiledNN, .gemmTiledNT, .gemmTiledTN, .gemmTiledTT, .gemmSplitKReduce:
            .gemm(.tiled)
        case .gemmVector, .gemmVectorNarrow, .gemmPackA, .gemmPackB, .gemmPackBNarrow:
            .gemm(.vector)
        default:
            .memoryBound
        }
    }
}

/// One kernel argument, as `clSetKernelArg` takes it.
enum KernelArgument {
    case buffer(cl_mem)
    case int(Int)
    case uint(UInt32)
    case float(Float)
}

/// The kernel objects of one backend from one of its programs (every kernel of the program's part),
/// created once from the shared program. A `cl_kernel` carries its argument values, so kernels are
/// per backend (not shared) and used under the backend's lock.
final class KernelTable {
    private struct Entry {
        let kernel: cl_kernel
        /// `CL_KERNEL_WORK_GROUP_SIZE`: the most work-items per group this build of the kernel takes.
        let maxItems: Int
        /// `CL_KERNEL_PRIVATE_MEM_SIZE`: bytes of private memory per work-item; nil when the driver does not say.
        let privateBytes: Int?
    }

    private let kernels: [KernelName: Entry]
    /// Launches enqueued so far, per kernel (every name present from the start, so counting allocates nothing).
    private(set) var launches: [KernelName: Int]

    /// - Parameter limits: replaces the driver's per-kernel work-group limits, for tests of what the
    ///   backend does on drivers whose kernels allow fewer items than the device (nil: ask the driver).
    init(program: CompiledProgram, limits: ((KernelName) -> Int)? = nil) throws {
        var made: [KernelName: Entry] = [:]
        let device = program.context.device.device
        do {
            for name in program.part.kernels {
                var status: cl_int = CL_SUCCESS
                guard let k = clCreateKernel(program.program, name.rawValue, &status), status == CL_SUCCESS else {
                    throw NNError.deviceFailure(call: "clCreateKernel(\(name.rawValue))", detail: OpenCLStatus.describe(status))
                }
                made[name] = Entry(kernel: k, maxItems: 0, privateBytes: nil)   // so that a failure below releases it
                made[name] = Entry(kernel: k, maxItems: try limits?(name) ?? Self.maxItems(of: k, name, on: device),
                                   privateBytes: Self.privateBytes(of: k, on: device))
            }
        } catch {
            made.values.forEach { clReleaseKernel($0.kernel) }
            throw error
        }
        kernels = made
        launches = Dictionary(uniqueKeysWithValues: program.part.kernels.map { ($0, 0) })
    }

    deinit { kernels.values.forEach { clReleaseKernel($0.kernel) } }

    private static func maxItems(of kernel: cl_kernel, _ name: KernelName, on device: cl_device_id) throws -> Int {
        var items = 0
        try OpenCLStatus.check(
            clGetKernelWorkGroupInfo(kernel, device, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE), MemoryLayout<Int>.size,
                                     &items, nil),
            "clGetKernelWorkGroupInfo(\(name.rawValue), CL_KERNEL_WORK_GROUP_SIZE)")
        return items
    }

    private static func privateBytes(of kernel: cl_kernel, on device: cl_device_id) -> Int? {
        var bytes: cl_ulong = 0
        let status = clGetKernelWorkGroupInfo(kernel, device, cl_kernel_work_group_info(CL_KERNEL_PRIVATE_MEM_SIZE),
                                              MemoryLayout<cl_ulong>.size, &bytes, nil)
        return status == CL_SUCCESS ? Int(clamping: bytes) : nil
    }

    /// Bytes of private memory per work-item the driver reports for `name` (nil: not reported). The
    /// kernels' own private arrays are all kept in registers by GPU compilers (see
    /// Tests/ConformanceTests/GPUCompilerTests.swift), so on a GPU anything here is registers spilled.
    func privateMemoryBytes(_ name: KernelName) -> Int? {
        kernels[name]?.privateBytes
    }

    /// The most work-items per work-group `name` takes in this program (0 if it is missing).
    func maxWorkGroupItems(_ name: KernelName) -> Int {
        kernels[name]?.maxItems ?? 0
    }

    /// Sets the arguments and enqueues `name` over `global` work-items in work-groups of `local`
    /// (the global size is rounded up to whole work-groups; kernels guard their indices).
    ///
    /// The arguments travel in an `InlineArray` (its count inferred from the literal at the call site)
    /// and the sizes in tuples, so a launch allocates nothing on the host: the driver's own command
    /// bookkeeping is the only per-launch allocation left. Error text is formatted only on failure.
    func launch<let count: Int>(_ name: KernelName, on queue: cl_command_queue, _ arguments: InlineArray<count, KernelArgument>,
                                global: (Int, Int), local: (Int, Int)) throws {
        guard let entry = kernels[name] else {
            throw NNError.deviceFailure(call: "clCreateKernel(\(name.rawValue))", detail: "kernel missing from the program")
        }
        let kernel = entry.kernel
        // The backend checks every kernel's limit when it opens (LaunchPlan); this names a launch that escaped it.
        guard local.0 * local.1 <= entry.maxItems else {
            throw NNError.deviceFailure(
                call: "clEnqueueNDRangeKernel(\(name.rawValue))",
                detail: "work-groups of \(local.0 * local.1) items, and this build of the kernel allows \(entry.maxItems)")
        }
        for index in arguments.indices {
            let status: cl_int
            switch arguments[index] {
            case var .buffer(mem):
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem>.size, &mem)
            case let .int(value):
                var v = Int32(truncatingIfNeeded: value)
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<Int32>.size, &v)
            case var .uint(value):
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<UInt32>.size, &value)
            case var .float(value):
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<Float>.size, &value)
            }
            try OpenCLStatus.check(status, "clSetKernelArg(\(name.rawValue), argument \(index))")
        }
        var sizes = (roundUp(global.0, local.0), roundUp(global.1, local.1), local.0, local.1)
        let status = withUnsafeMutableBytes(of: &sizes) { raw in
            let size = raw.bindMemory(to: Int.self)
            return clEnqueueNDRangeKernel(queue, kernel, 2, nil, size.baseAddress, size.baseAddress.map { $0 + 2 }, 0, nil, nil)
        }
        try OpenCLStatus.check(status, "clEnqueueNDRangeKernel(\(name.rawValue))")
        launches[name, default: 0] += 1
    }

    private func roundUp(_ value: Int, _ multiple: Int) -> Int {
        max(1, (value + multiple - 1) / multiple) * multiple
    }
}
