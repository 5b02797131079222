import NNCore

/// What a backend launches on its device: the GEMM tuning of each shape class and the shapes of the
/// memory-bound kernels, each marked as given by the caller or chosen by the library.
///
/// A device's work-group limit is an upper bound; a built kernel may allow fewer items
/// (`CL_KERNEL_WORK_GROUP_SIZE`), when the driver needs more registers or local memory per item than
/// the full group could have. Such a kernel launches with CL_INVALID_WORK_GROUP_SIZE, which without a
/// check would surface in the middle of training, at the first op that uses it. So the backend checks
/// every kernel of a plan against its built limit when it opens (``refitted(on:kernelLimit:)``), and
/// a choice the library made steps down instead of failing.
struct LaunchPlan: Equatable {
    var squareTuning: GemmTuning
    var skinnyTuning: GemmTuning
    var memoryKernels: MemoryKernelFamily
    /// Whether the caller fixed each choice (an argument, or `NN_OPENCL_KERNEL_SHAPES=gpu|cpu`): a
    /// given choice that does not fit is an error that names it; a chosen one is replaced.
    var squareTuningIsGiven: Bool
    var skinnyTuningIsGiven: Bool
    var memoryKernelsAreGiven: Bool

    func tuning(for shapeClass: GemmShapeClass) -> GemmTuning {
        shapeClass == .square ? squareTuning : skinnyTuning
    }

    /// The tiled GEMM kernels, one per transpose pair; each shape class launches them from its own GEMM program.
    static let tiledGemmKernels: [KernelName] = [.gemmTiledNN, .gemmTiledNT, .gemmTiledTN, .gemmTiledTT]

    /// The GPU shapes' column reductions, in work-groups of 32 columns × 8 row lanes: batch norm's and
    /// the column sums (a bias gradient).
    static let columnLaneKernels: Set<KernelName> = [
        .bnStatisticsPartials, .bnStatisticsFinish, .bnBackwardPartials, .bnBackwardFinish,
        .bnForwardColumnGroups, .bnBackwardColumnGroups, .columnPartialsLanes, .columnFinishLanes,
    ]

    /// The kernels the GPU shapes (``MemoryKernelFamily/workGroup``) launch in work-groups of
    /// ``MemoryKernelFamily/workGroupItems``: the float4 grid-stride loops, the row kernels of softmax,
    /// and the column reductions (``columnLaneKernels``).
    static let workGroupShapeKernels: Set<KernelName> = columnLaneKernels.union([
        .fillV4, .copyV4, .scaleV4, .axpyV4, .multiplyV4,
        .reluForwardV4, .tanhForwardV4, .sigmoidForwardV4, .reluBackwardV4, .tanhBackwardV4, .sigmoidBackwardV4,
        .dropoutForwardV4, .updateSGDV4, .updateMomentumV4, .updateRMSpropV4, .updateAdamV4, .updateV4Multi,
        .softmaxRows, .softmaxXent,
        .bnNormalize, .bnInferenceV4, .bnBackwardDx,
    ])

    /// The kernels launched one work-item per work-group (each item loops over a whole panel, row or column block).
    static let singleItemKernels: Set<KernelName> = [
        .gemmVector, .gemmVectorNarrow, .softmaxRowsVector, .softmaxXentVector, .bnForwardColumns, .bnBackwardColumns,
    ]

    /// The most work-items per work-group this plan launches `name` with, from the GEMM program built
    /// for `shapeClass`'s tuning, or for a memory-bound kernel from the one memory-bound program (asked
    /// as the square class; the skinny class launches none); 0 when the plan never launches it there.
    /// Every other kernel runs in groups of 64 (`flatGroupSize`, `reduceGroupSize`, `rowGroupItems`).
    func workGroupItems(of name: KernelName, in shapeClass: GemmShapeClass) -> Int {
        let tuning = tuning(for: shapeClass)
        // A GEMM program holds its tuning's family only.
        if case let .gemm(family) = name.part, family != tuning.family { return 0 }
        if Self.tiledGemmKernels.contains(name) { return tuning.mdimc * tuning.ndimc }
        if Self.singleItemKernels.contains(name) { return 1 }
        if name == .gemmPackA || name == .gemmPackB || name == .gemmPackBNarrow || name == .gemmSplitKReduce {
            return OpenCLBackend.flatGroupSize
        }
        guard shapeClass == .square else { return 0 }
        if Self.workGroupShapeKernels.contains(name) {
            return memoryKernels == .workGroup ? MemoryKernelFamily.workGroupItems : 0
        }
        return OpenCLBackend.flatGroupSize
    }

    /// The plan to build instead when a built kernel allows fewer work-items per group than this plan
    /// launches it with, or nil when every kernel fits. `kernelLimit(name, shapeClass)` is the
    /// `CL_KERNEL_WORK_GROUP_SIZE` of `name` in the program that holds it for that class.
    ///
    /// A chosen tiled tuning steps down ``GemmTuning/gpuFallbacks(from:)`` to the first that the
    /// device runs with no more items than the kernel allowed (fewer items leave each more
    /// registers, so its own limit can only rise); chosen GPU shapes become the CPU shapes, which
    /// need 64 items. The caller builds the new plan and asks again: each step has strictly fewer
    /// items, so the search ends.
    ///
    /// - Throws: `NNError.invalidArgument` when a given tuning or given GPU shapes do not fit (naming
    ///   the kernel, both sizes and the way out), or no fallback does; `NNError.backendUnavailable`
    ///   when a kernel with no alternative allows fewer than the 64 items the library needs.
    func refitted(on device: OpenCLDeviceInfo, kernelLimit: (KernelName, GemmShapeClass) -> Int) throws -> LaunchPlan? {
        var next = self
        for shapeClass in GemmShapeClass.allCases where tuning(for: shapeClass).family == .tiled {
            let tuning = tuning(for: shapeClass)
            let needed = tuning.mdimc * tuning.ndimc
            guard let (kernel, limit) = Self.tiledGemmKernels.map({ ($0, kernelLimit($0, shapeClass)) }).min(by: { $0.1 < $1.1 }),
                  limit < needed else { continue }
            let given = shapeClass == .square ? squareTuningIsGiven : skinnyTuningIsGiven
            let why = "\(kernel.rawValue), built for \(tuning), allows at most \(limit) work-items per group on \(device.name) "
                + "(the device allows \(device.maxWorkGroupSize); the kernel's registers or local memory limit it), "
                + "and the tuning launches \(needed)"
            guard !given else {
                throw NNError.invalidArgument(
                    op: "GEMM tuning",
                    detail: "\(why). Choose a tuning with at most \(limit) items (MDIMC·NDIMC), or let `nn devices --tune` find one")
            }
            guard let smaller = GemmTuning.gpuFallbacks(from: tuning).first(where: {
                $0.mdimc * $0.ndimc <= limit && $0.isRunnable(on: device)
            }) else {
                throw NNError.invalidArgument(op: "GEMM tuning", detail: "\(why); no built-in fallback fits. Run `nn devices --tune`")
            }
            if shapeClass == .square { next.squareTuning = smaller } else { next.skinnyTuning = smaller }
        }
        if memoryKernels == .workGroup {
            let needed = MemoryKernelFamily.workGroupItems
            if let (kernel, limit) = Self.workGroupShapeKernels.map({ ($0, kernelLimit($0, .square)) }).min(by: { $0.1 < $1.1 }),
               limit < needed {
                guard !memoryKernelsAreGiven else {
                    throw NNError.invalidArgument(
                        op: MemoryKernelFamily.environmentVariable,
                        detail: "the GPU kernel shapes launch \(kernel.rawValue) in work-groups of \(needed) items, and on "
                            + "\(device.name) that kernel allows at most \(limit). Use the CPU shapes on this device "
                            + "(\(MemoryKernelFamily.environmentVariable)=cpu)")
                }
                next.memoryKernels = .vector
            }
        }
        if next != self { return next }
        // Nothing left to step down: every kernel must take the groups the plan launches it with.
        for shapeClass in GemmShapeClass.allCases {
            for name in KernelName.allCases {
                let needed = workGroupItems(of: name, in: shapeClass), limit = kernelLimit(name, shapeClass)
                guard needed <= limit else {
                    throw NNError.backendUnavailable(
                        backend: OpenCLBackend.backendName,
                        reason: "kernel \(name.rawValue) allows at most \(limit) work-items per group on \(device.name), "
                            + "and SwiftNN launches it with \(needed). Use the native backend (--backend native) on this device")
                }
            }
        }
        return nil
    }
}
