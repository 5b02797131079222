import COpenCL
import Foundation
import NNCore

/// The OpenCL backend: tensors live in device buffers and every op is one or a few kernel launches on an
/// in-order command queue.
///
/// Ops are enqueued asynchronously; ``download(_:)`` blocks until the data is back and ``synchronize()``
/// waits for everything queued. The kernels come from two kinds of program (see `ProgramPart`), each
/// built once per process per (device, driver, build options) and shared by every backend instance
/// on that device: the memory-bound kernels once per device, the GEMM kernels once per GEMM tuning.
///
/// Thread safety: the instance is `Sendable`, and a lock serialises every launch (kernel objects hold
/// their arguments, and scratch buffers are shared between ops). Still, drive one backend from one
/// thread at a time: ops from two threads would interleave on the same in-order queue in no
/// particular order, which is a data race on the tensors even though it is not one on the backend.
public final class OpenCLBackend: Backend, @unchecked Sendable {
    static let backendName = "opencl"

    public let name = OpenCLBackend.backendName
    public let precision = Precision.float32
    public var deviceDescription: String {
        "\(device.name) (\(device.type.rawValue), \(device.platformName), driver \(device.driverVersion)); GEMM \(gemmTuning)"
            + (skinnyGemmTuning == gemmTuning ? "" : ", skinny GEMM \(skinnyGemmTuning)")
            + "; memory-bound kernels in \(memoryKernels.shapeName) shapes"
            + (device.type == .cpu ? "" : gemmPrivateMemoryBytes.flatMap { $0 > 0 ? "; GEMM kernels spill \($0) bytes per work-item" : nil } ?? "")
    }

    /// The device this backend runs on.
    public let device: OpenCLDeviceInfo
    /// The GEMM kernel family and tile sizes of products whose C is large (``GemmShapeClass/square``).
    public let gemmTuning: GemmTuning
    /// The GEMM tuning of products whose C is small (``GemmShapeClass/skinny``), e.g. an MLP layer at batch 256.
    public let skinnyGemmTuning: GemmTuning
    /// The shapes of the memory-bound kernels (softmax, classifier heads, batch norm, element-wise,
    /// dropout, optimizer updates): the CPU or the GPU shape.
    public let memoryKernels: MemoryKernelFamily

    /// Kernels enqueued since the backend opened, by their name in `Kernels/*.cl` (kernels never
    /// launched are left out). On a GPU each launch costs a few microseconds of driver time, a visible
    /// share of a small batch's step, so launches per step are a figure of their own: the difference
    /// of two readings around the work.
    public var kernelLaunches: [String: Int] {
        locked {
            var counts: [String: Int] = [:]
            for table in [kernels, gemmKernels] + (skinnyGemmKernels.map { [$0] } ?? []) {
                for (name, count) in table.launches where count > 0 { counts[name.rawValue, default: 0] += count }
            }
            return counts
        }
    }

    /// The most private memory per work-item the driver reports for the GEMM kernels of this backend's
    /// tunings (both shape classes), beyond what it reports for `fill`, which has nothing to keep there
    /// (PoCL reports 1024 bytes for every kernel); nil when the driver does not say. GPU compilers keep
    /// the kernels' own arrays in registers (Tests/ConformanceTests/GPUCompilerTests.swift checks it),
    /// so on a GPU anything here is registers spilled to memory, which slows a GEMM severalfold:
    /// ``deviceDescription`` says so, and the autotuner reports it per candidate.
    public var gemmPrivateMemoryBytes: Int? {
        let tables = [(gemmTuning, gemmKernels), (skinnyGemmTuning, skinnyGemmKernels ?? gemmKernels)]
        let reported = tables.flatMap { tuning, table in
            let names: [KernelName] = tuning.family == .tiled ? LaunchPlan.tiledGemmKernels : [.gemmVector, .gemmVectorNarrow]
            return names.compactMap { table.privateMemoryBytes($0) }
        }
        guard let most = reported.max() else { return nil }
        return max(0, most - (kernels.privateMemoryBytes(.fill) ?? 0))
    }

    /// The memory-bound program; its context holds every buffer of this backend.
    let program: CompiledProgram
    let queue: cl_command_queue
    /// The memory-bound kernels (every kernel outside gemm.cl).
    let kernels: KernelTable
    /// The GEMM kernels built with ``gemmTuning``'s sizes.
    let gemmKernels: KernelTable
    /// The GEMM kernels built with ``skinnyGemmTuning``'s sizes; nil when both classes compile alike
    /// (their tunings may still differ in the run-time split-K limit).
    let skinnyGemmKernels: KernelTable?
    let lock = NSLock()
    /// Pinned slots for uploads that do not wait for the queue. Guarded by `lock`.
    let staging: UploadStaging
    // Scratch buffers reused across ops (GEMM packing, partial sums), grown on demand. Guarded by `lock`.
    private var scratch: [ScratchRole: OpenCLBuffer] = [:]

    enum ScratchRole: Hashable {
        case gemmPackedA, gemmPackedB, gemmSplitK, partials, partials2, perRowValues, perRowMatches
    }

    /// Every platform's devices, flattened in the order `NN_OPENCL_DEVICE` indices count them.
    public static func availableDevices() throws -> [OpenCLDeviceInfo] {
        try DeviceDiscovery.discover().map(\.info)
    }

    /// Opens a device and builds (or reuses) the kernel library for it.
    ///
    /// - Parameters:
    ///   - deviceSelector: an index into ``availableDevices()`` or a case-insensitive substring of a
    ///     device, vendor or platform name; `nil` reads `NN_OPENCL_DEVICE`, and when that is unset too,
    ///     picks the first GPU, else the first device.
    ///   - gemmTuning: GEMM kernel family and tile sizes; `nil` asks ``GemmAutotuner`` under the mode
    ///     `NN_GEMM_TUNING` names (by default: the on-disk tuning cache, else ``GemmTuning/defaults(for:)``;
    ///     it never tunes unless told to). A tuning given here serves every shape unless
    ///     `skinnyGemmTuning` is given too, so a test or tool can force one family on any device.
    ///   - skinnyGemmTuning: the tuning of ``GemmShapeClass/skinny`` products; `nil` takes `gemmTuning`
    ///     when that is given, else asks ``GemmAutotuner`` for the skinny class.
    ///   - memoryKernels: the shapes of the memory-bound kernels; `nil` reads `NN_OPENCL_KERNEL_SHAPES`
    ///     (`gpu`, `cpu` or `auto`), and when that is unset or `auto`, picks ``MemoryKernelFamily/defaults(for:)``.
    /// - Throws: `NNError.backendUnavailable(backend:reason:)` when no device exists or the selector
    ///   matches none; `NNError.invalidArgument(op:detail:)` when `NN_OPENCL_KERNEL_SHAPES` has another value,
    ///   or a given GEMM tuning (or given GPU kernel shapes) is invalid or needs more local memory or
    ///   work-items than the device or its built kernels allow (a tuning or shapes the library chose
    ///   step down to ones that fit instead, see `LaunchPlan`);
    ///   `NNError.deviceFailure(call:detail:)` (with the build log) when the driver fails.
    public convenience init(deviceSelector: String? = nil, gemmTuning: GemmTuning? = nil, skinnyGemmTuning: GemmTuning? = nil,
                            memoryKernels: MemoryKernelFamily? = nil) throws {
        try self.init(deviceSelector: deviceSelector, gemmTuning: gemmTuning, skinnyGemmTuning: skinnyGemmTuning,
                      memoryKernels: memoryKernels, retainGemmPrograms: true)
    }

    /// `retainGemmPrograms: false` builds GEMM programs that live only as long as this backend (see
    /// `ProgramCache`); the memory-bound program, the same for every tuning, is always kept.
    convenience init(deviceSelector: String?, gemmTuning: GemmTuning?, skinnyGemmTuning: GemmTuning?,
                     memoryKernels: MemoryKernelFamily?, retainGemmPrograms: Bool) throws {
        let devices = try DeviceDiscovery.discover()
        let selector = deviceSelector ?? ProcessInfo.processInfo.environment[DeviceDiscovery.environmentVariable]
        let chosen = try DeviceDiscovery.select(selector, from: devices)
        let shapeSetting = ProcessInfo.processInfo.environment[MemoryKernelFamily.environmentVariable]
        let shapes = try memoryKernels ?? MemoryKernelFamily.resolve(shapeSetting, for: chosen.info)
        // The mode is read only when the autotuner is asked, so a bad NN_GEMM_TUNING cannot stop an explicit tuning.
        let mode: GemmAutotuner.Mode = gemmTuning == nil ? try GemmAutotuner.Mode.fromEnvironment() : .off
        let tuning = try gemmTuning ?? GemmAutotuner.tuning(for: chosen.info, shapeClass: .square, mode: mode)
        let skinnyTuning = try skinnyGemmTuning
            ?? (gemmTuning != nil ? tuning : GemmAutotuner.tuning(for: chosen.info, shapeClass: .skinny, mode: mode))
        let plan = LaunchPlan(squareTuning: tuning, skinnyTuning: skinnyTuning, memoryKernels: shapes,
                              squareTuningIsGiven: gemmTuning != nil, skinnyTuningIsGiven: gemmTuning != nil || skinnyGemmTuning != nil,
                              memoryKernelsAreGiven: memoryKernels != nil || !MemoryKernelFamily.leavesTheChoiceToTheLibrary(shapeSetting))
        try self.init(device: chosen, plan: plan, retainGemmPrograms: retainGemmPrograms)
    }

    /// Opens `device` with `plan`, or with the plan it steps down to when a built kernel allows fewer
    /// work-items than `plan` launches it with (see `LaunchPlan`). `kernelLimits` replaces the
    /// drivers' per-kernel limits (see `KernelTable`), for tests.
    init(device chosen: DiscoveredDevice, plan: LaunchPlan, retainGemmPrograms: Bool,
         kernelLimits: ((KernelName, GemmShapeClass) -> Int)? = nil) throws {
        for tuning in [plan.squareTuning, plan.skinnyTuning] {
            try tuning.validate()
            try tuning.validate(on: chosen.info)
        }
        var plan = plan
        let program = try ProgramCache.shared.program(.memoryBound, for: chosen, options: Self.memoryBoundBuildOptions)
        let kernels = try KernelTable(program: program, limits: kernelLimits.map { limit in { limit($0, .square) } })

        // The GEMM programs are built until every kernel takes the work-groups the plan launches it
        // with (see LaunchPlan). The first plan fits on every driver this has run on (PoCL, Oclgrind,
        // NVIDIA's); a step down rebuilds.
        var gemmKernels: KernelTable, skinnyGemmKernels: KernelTable?
        while true {
            let squareProgram = try Self.gemmProgram(plan.squareTuning, on: chosen, retain: retainGemmPrograms)
            let skinnyProgram = plan.skinnyTuning.buildOptions == plan.squareTuning.buildOptions ? nil
                : try Self.gemmProgram(plan.skinnyTuning, on: chosen, retain: retainGemmPrograms)
            gemmKernels = try KernelTable(program: squareProgram, limits: kernelLimits.map { limit in { limit($0, .square) } })
            skinnyGemmKernels = try skinnyProgram.map {
                try KernelTable(program: $0, limits: kernelLimits.map { limit in { limit($0, .skinny) } })
            }
            let tables = (square: gemmKernels, skinny: skinnyGemmKernels ?? gemmKernels)
            guard let refitted = try plan.refitted(on: chosen.info, kernelLimit: { name, shapeClass in
                switch (name.part, shapeClass) {
                case (.memoryBound, _): kernels.maxWorkGroupItems(name)
                case (.gemm, .square): tables.square.maxWorkGroupItems(name)
                case (.gemm, .skinny): tables.skinny.maxWorkGroupItems(name)
                }
            }) else { break }
            plan = refitted
        }

        var status: cl_int = CL_SUCCESS
        guard let queue = clCreateCommandQueue(program.context.context, chosen.device, 0, &status), status == CL_SUCCESS else {
            throw NNError.deviceFailure(call: "clCreateCommandQueue(\(chosen.info.name))", detail: OpenCLStatus.describe(status))
        }
        self.kernels = kernels
        self.gemmKernels = gemmKernels
        self.skinnyGemmKernels = skinnyGemmKernels
        self.queue = queue
        self.staging = UploadStaging(context: program.context, queue: queue)
        self.program = program
        self.device = chosen.info
        self.gemmTuning = plan.squareTuning
        self.skinnyGemmTuning = plan.skinnyTuning
        self.memoryKernels = plan.memoryKernels
    }

    deinit {
        // Every staged write done before its slot goes; releasing the slots queues nothing here.
        clFinish(queue)
        staging.releaseAll()
        clReleaseCommandQueue(queue)
    }

    // MARK: Launch plumbing

    /// The options both programs are built with.
    ///
    /// IEEE semantics on purpose (no -cl-fast-relaxed-math, no -cl-mad-enable): the conformance
    /// suite compares against the native backend, and Kahan sums need unreassociated arithmetic.
    /// -w (a standard option): compiler warnings are for whoever edits Kernels/*.cl, not for users,
    /// whose terminal PoCL's compiler would otherwise tell "49 warnings generated." (clang's note
    /// that float16 helpers pass vectors wider than AVX2 registers) at every first build.
    static let commonBuildOptions = "-cl-std=CL1.2 -w"

    /// The options the GEMM program is built with for `tuning`: its family and tile sizes.
    static func gemmBuildOptions(_ tuning: GemmTuning) -> String {
        "\(commonBuildOptions) \(tuning.buildOptions)"
    }

    /// The GEMM program of `tuning`'s family built with its sizes: the part and the options both
    /// follow from the tuning, so they cannot disagree.
    private static func gemmProgram(_ tuning: GemmTuning, on device: DiscoveredDevice, retain: Bool) throws -> CompiledProgram {
        try ProgramCache.shared.program(.gemm(tuning.family), for: device, options: gemmBuildOptions(tuning), retain: retain)
    }

    /// The options of the memory-bound program: its work-group sizes, which the host launches with.
    static let memoryBoundBuildOptions = "\(commonBuildOptions) -DREDUCE_WG=\(reduceGroupSize) "
        + "-DROW_WG_ITEMS=\(rowGroupItems) -DBN_VECTORS=\(batchNormVectors)"

    /// Work-group size of the whole-tensor reductions (must match `REDUCE_WG` in algebra.cl).
    static let reduceGroupSize = 64
    /// Work-items per work-group of the row kernels in classifierheads.cl.
    static let rowGroupItems = 64
    /// float16 vectors per row in one work-item of the whole-column batch-norm kernels (64 features):
    /// 256 contiguous bytes per row keep the hardware prefetchers streaming (16 features measured 4× slower).
    static let batchNormVectors = 4
    /// Work-group size of the flat element-wise kernels: one size, so a CPU driver compiles each once.
    static let flatGroupSize = 64
    /// Work-items per work-group of the GPU-shaped row kernels (`GPU_ROW_ITEMS` in classifierheads.cl)
    /// and of the float4 grid-stride kernels: 8 warps of 32 or 4 wavefronts of 64.
    static let gpuGroupSize = MemoryKernelFamily.workGroupItems
    /// float4 vectors of a row each item of the GPU softmax keeps in registers (`ROW_CACHE`).
    static let gpuRowCache = 4
    /// Work-group of the GPU-shaped column reductions, batch norm's and the column sums (`LANE_COLS` ×
    /// `LANE_ROWS` in algebra.cl): 32 adjacent columns, one 128-byte line of a row per load
    /// instruction, times 8 row lanes.
    static let columnLaneGroup = (columns: 32, rowLanes: 8)

    /// Runs `body` under the backend's lock.
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    func launch<let n: Int>(_ name: KernelName, _ arguments: InlineArray<n, KernelArgument>,
                            global: (Int, Int), local: (Int, Int)) throws {
        try kernels.launch(name, on: queue, arguments, global: global, local: local)
    }

    /// A one-dimensional launch over `count` elements.
    func launchFlat<let n: Int>(_ name: KernelName, _ arguments: InlineArray<n, KernelArgument>, count: Int) throws {
        try launch(name, arguments, global: (count, 1), local: (Self.flatGroupSize, 1))
    }

    /// A launch of an element-wise kernel over `count` elements in the backend's shape: the CPU shape
    /// one element per work-item (`scalar`), the GPU shape a grid-stride float4 loop (`vector`) over at
    /// most 8 work-groups per compute unit, enough to keep every unit busy and each item on several vectors.
    func launchElementwise<let n: Int>(_ scalar: KernelName, _ vector: KernelName, _ arguments: InlineArray<n, KernelArgument>,
                                       count: Int) throws {
        guard memoryKernels == .workGroup else { return try launchFlat(scalar, arguments, count: count) }
        try launchGridStride(vector, arguments, items: (count + 3) / 4)
    }

    /// A GPU-shaped launch whose kernel loops over `items` units of work with a grid stride.
    func launchGridStride<let n: Int>(_ name: KernelName, _ arguments: InlineArray<n, KernelArgument>, items: Int) throws {
        try launch(name, arguments, global: (gridStrideGroups(items: items) * Self.gpuGroupSize, 1), local: (Self.gpuGroupSize, 1))
    }

    /// A launch of one (32 columns × 8 row lanes) work-group per column block and chunk of rows (the
    /// combining passes: one "chunk", whose row lanes split the partial sums among themselves).
    func launchColumnChunks<let count: Int>(_ name: KernelName, _ arguments: InlineArray<count, KernelArgument>,
                                            columns: Int, chunks: Int) throws {
        let group = Self.columnLaneGroup
        try launch(name, arguments, global: (columns, chunks * group.rowLanes), local: (group.columns, group.rowLanes))
    }

    /// Equal row chunks of about `targetRowsPerChunk` rows for a GPU-shaped column reduction, at least
    /// one and at most 256, so that the pass combining them stays short; none empty.
    static func columnLaneChunking(rows: Int, targetRowsPerChunk: Int) -> (count: Int, rowsPerChunk: Int) {
        let wanted = min(256, max(1, (rows + targetRowsPerChunk - 1) / targetRowsPerChunk))
        let rowsPerChunk = (rows + wanted - 1) / wanted
        return ((rows + rowsPerChunk - 1) / rowsPerChunk, rowsPerChunk)
    }

    /// Work-groups of a grid-stride launch over `items`: one item each, at most 8 per compute unit.
    func gridStrideGroups(items: Int) -> Int {
        let group = Self.gpuGroupSize
        return max(1, min((items + group - 1) / group, max(1, device.computeUnits) * 8))
    }

    /// A scratch buffer of at least `count` floats for `role`; its contents are undefined. Call under the lock.
    func scratchBuffer(_ role: ScratchRole, count: Int) throws -> cl_mem {
        if let existing = scratch[role], existing.capacity >= count { return existing.memory }
        let capacity = Self.scratchCapacity(for: count, current: scratch[role]?.capacity ?? 0,
                                            largest: Int(clamping: device.maxAllocationBytes / UInt64(MemoryLayout<Float>.stride)))
        let buffer = try OpenCLBuffer(context: program.context, capacity: capacity)
        scratch[role] = buffer
        return buffer.memory
    }

    /// Floats to allocate for a scratch buffer that must hold `count` and holds `current`: twice the
    /// current size at least, so a slowly growing size does not reallocate on every call, but never
    /// more than the device's largest buffer unless `count` itself is (which the allocation refuses).
    static func scratchCapacity(for count: Int, current: Int, largest: Int) -> Int {
        max(count, min(max(2 * current, 1024), largest))
    }

    /// The `cl_mem` behind a tensor already validated by `OpCheck` (which guarantees it is ours).
    func mem(_ tensor: Tensor, _ op: String) throws -> cl_mem {
        guard let buffer = tensor.storage as? OpenCLBuffer else {
            throw NNError.foreignTensor(op: op, expected: name, found: tensor.storage.backendName)
        }
        return buffer.memory
    }
}
