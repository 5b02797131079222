import Foundation
import NNCore
import NNKernels

/// Chooses GEMM tile sizes per device: built-in defaults, a tuning cached on disk, or a measurement.
///
/// **Modes** (`NN_GEMM_TUNING`, or ``Mode`` passed to ``tuning(for:mode:)``):
/// - `cached` (the default): the cached winner for this device if there is one, else
///   ``GemmTuning/defaults(for:)``. Never measures, so opening a backend (and every test run) stays fast.
/// - `off`: always the built-in defaults; the cache is neither read nor written.
/// - `force`: measure now (once per process and device), store the winner, use it.
///   Tools call ``tune(deviceSelector:cache:progress:)`` for the same thing explicitly (`nnbench tune`,
///   `nnbench gemm --tune`, `nn devices --tune`).
///
/// **Tuning** builds the GEMM program once per candidate (the memory-bound one, which does not depend
/// on the tuning, is built once per device and shared), checks every transpose combination, the
/// narrow, edge, interior and split-K paths, the fused bias-and-ReLU store and beta = 0 over NaN
/// against a Float64 reference (`verificationCases`) — a candidate that computes a wrong product is
/// rejected, however fast — then times a fixed set of products and keeps the fastest total.
///
/// - CPU drivers: a handful of vector-family register blocks around the defaults, one tuning for every
///   shape, timed on 512³ and the MLP layer shapes with their gradient forms (``candidates(for:)``).
/// - GPUs: the tiled family, per ``GemmShapeClass``. The space (``gpuSpaceSize(shapeClass:fitting:)``) crosses
///   every CLBlast-style size — work-group tile, work-item tile, k step, vector widths, strides, local
///   padding, double buffering, unrolling, and for the skinny class the split-K limit — and is pruned by
///   the device's limits (work-group size, local memory, a register estimate;
///   ``gpuCandidates(for:shapeClass:sampleSize:)``). A fixed-seed random sample of it, after the
///   built-in default, is measured until the class's time budget is spent (about a minute each, so a
///   whole tune takes about two): square on 2048³ in three transpose forms, skinny on the batch-256 MLP
///   layers (784-512-256) and their gradient forms.
///
/// **Cache**: `$XDG_CACHE_HOME/swiftnn/gemm-tuning.json`, else `~/.cache/swiftnn/gemm-tuning.json`
/// (`NN_GEMM_TUNING_CACHE` overrides the path). Entries are keyed by device name, driver version, a
/// hash of the GEMM kernel source and the shape class, so a driver update or a kernel change
/// invalidates them by itself.
/// An unreadable or malformed cache is treated as empty, with a warning (see ``GemmTuningCache``); delete
/// the file to forget every tuning.
public enum GemmAutotuner {
    /// When tuning happens; see the type's documentation.
    public enum Mode: String, Sendable, CaseIterable {
        case off, cached, force

        /// The environment variable that selects the mode.
        public static let environmentVariable = "NN_GEMM_TUNING"

        /// The mode `NN_GEMM_TUNING` names; `cached` when unset or empty.
        public static func fromEnvironment() throws -> Mode {
            let raw = ProcessInfo.processInfo.environment[environmentVariable] ?? ""
            if raw.isEmpty { return .cached }
            guard let mode = Mode(rawValue: raw.lowercased()) else {
                throw NNError.invalidArgument(
                    op: "OpenCL backend",
                    detail: "\(environmentVariable)=\(raw) is not a tuning mode; use off, cached (the default) or force")
            }
            return mode
        }
    }

    /// One candidate's outcome.
    public struct CandidateResult: Sendable {
        public var tuning: GemmTuning
        /// The class of products it was tuned and timed for.
        public var shapeClass: GemmShapeClass
        /// GFLOP/s over the timed set; nil when the candidate was rejected.
        public var gflops: Double?
        /// Why the candidate did not compete (failed to build, wrong result); nil when it did.
        public var rejection: String?
        /// Seconds spent opening a backend with it, most of them building its GEMM program: on a
        /// GPU the part of the class's time budget that measured nothing.
        public var buildSeconds: Double = 0
        /// The private memory per work-item the driver reports for its GEMM kernels
        /// (``OpenCLBackend/gemmPrivateMemoryBytes``): on a GPU, registers spilled.
        public var privateMemoryBytes: Int?

        /// "square vector(…): 123.45 GFLOP/s, verified (built in 0.81 s)" or "skinny tiled(…): rejected: why";
        /// a GPU candidate whose kernels spill registers says how much.
        public var summary: String {
            if let gflops {
                let spills = privateMemoryBytes.map { $0 > 0 ? ", spills \($0) bytes per work-item" : "" } ?? ""
                return "\(shapeClass.rawValue) \(tuning): \(Report.format(gflops)) GFLOP/s, verified (built in \(Report.format(buildSeconds)) s\(spills))"
            }
            return "\(shapeClass.rawValue) \(tuning): rejected: \(rejection ?? "unknown reason")"
        }
    }

    /// What ``tune(deviceSelector:cache:progress:)`` measured and stored.
    public struct Report: Sendable, CustomStringConvertible {
        /// One shape class's search.
        public struct ClassReport: Sendable {
            public var shapeClass: GemmShapeClass
            /// Every candidate, in the order measured.
            public var candidates: [CandidateResult]
            public var chosen: GemmTuning
            /// The built-in tuning the winner replaces, for comparison.
            public var defaults: GemmTuning
            /// Candidates in the pruned space, of which `candidates` were measured within the time budget.
            public var spaceSize: Int
            public var seconds: Double
        }

        public var device: OpenCLDeviceInfo
        /// One entry per class the device is tuned for: square only on CPU drivers, square and skinny on GPUs.
        public var classes: [ClassReport]
        public var cachePath: String

        /// Every candidate of every class, in the order measured.
        public var candidates: [CandidateResult] { classes.flatMap(\.candidates) }
        /// The square-class winner (on CPU drivers, the one tuning for every shape).
        public var chosen: GemmTuning { classes.first { $0.shapeClass == .square }?.chosen ?? GemmTuning.defaults(for: device) }

        /// One line per candidate, then each class's winner and where it was stored.
        public var description: String {
            var lines = ["GEMM autotuning on \(device.name) (driver \(device.driverVersion)), "
                         + "each candidate verified against a Float64 reference, then timed:"]
            for report in classes {
                let building = report.candidates.reduce(0) { $0 + $1.buildSeconds }
                lines.append("\(report.shapeClass.rawValue) products: \(report.candidates.count) of \(report.spaceSize) candidates "
                             + "measured in \(Self.format(report.seconds)) s, \(Self.format(building)) s of it building kernels")
                for result in report.candidates {
                    lines.append("  " + result.summary + (result.tuning == report.defaults ? "  [built-in default]" : ""))
                }
                let best = report.candidates.first { $0.tuning == report.chosen }?.gflops ?? 0
                let baseline = report.candidates.first { $0.tuning == report.defaults }?.gflops
                var winner = "\(report.shapeClass.rawValue) winner: \(report.chosen), \(Self.format(best)) GFLOP/s"
                if let baseline, baseline > 0, report.chosen != report.defaults {
                    winner += " (\(Self.format(best / baseline))× the built-in default)"
                }
                lines.append(winner)
            }
            lines.append("stored in \(cachePath); later OpenCL backends on this device use it (NN_GEMM_TUNING=off ignores it)")
            return lines.joined(separator: "\n")
        }

        static func format(_ value: Double) -> String {
            String(format: "%.2f", value)
        }
    }

    /// The square-class tuning a new backend on `device` uses under `mode`.
    public static func tuning(for device: OpenCLDeviceInfo, mode: Mode) throws -> GemmTuning {
        try tuning(for: device, shapeClass: .square, mode: mode)
    }

    /// The tuning a new backend on `device` uses for `shapeClass` under `mode`.
    public static func tuning(for device: OpenCLDeviceInfo, shapeClass: GemmShapeClass, mode: Mode) throws -> GemmTuning {
        let tuned = tunedClass(shapeClass, on: device)
        switch mode {
        case .off:
            return GemmTuning.defaults(for: device, shapeClass: shapeClass)
        case .cached:
            return cachedTuning(for: device, shapeClass: shapeClass) ?? GemmTuning.defaults(for: device, shapeClass: shapeClass)
        case .force:
            if let done = state.withLock({ $0.forcedThisProcess[GemmTuningCache.Key(device, shapeClass: tuned)] }) { return done }
            let report = try tune(device: device)
            return report.classes.first { $0.shapeClass == tuned }?.chosen ?? report.chosen
        }
    }

    /// The classes tuned separately on `device`: CPU drivers get one vector tuning for every shape
    /// (their speed hardly depends on how many tiles C has), GPUs one per class.
    public static func shapeClasses(for device: OpenCLDeviceInfo) -> [GemmShapeClass] {
        device.type == .cpu ? [.square] : GemmShapeClass.allCases
    }

    /// The class whose tuning serves `shapeClass` on `device`.
    static func tunedClass(_ shapeClass: GemmShapeClass, on device: OpenCLDeviceInfo) -> GemmShapeClass {
        shapeClasses(for: device).contains(shapeClass) ? shapeClass : .square
    }

    /// Measures every candidate on the selected device (see `OpenCLBackend.init`'s selector), stores the
    /// winner in `cache` and returns what was measured. `progress` hears about each candidate as it finishes.
    public static func tune(deviceSelector: String? = nil, cache: GemmTuningCache = GemmTuningCache(),
                            progress: (CandidateResult) -> Void = { _ in }) throws -> Report {
        let devices = try DeviceDiscovery.discover()
        let selector = deviceSelector ?? ProcessInfo.processInfo.environment[DeviceDiscovery.environmentVariable]
        return try tune(device: DeviceDiscovery.select(selector, from: devices).info, cache: cache, progress: progress)
    }

    /// The cached winner for `device` and `shapeClass` (the square class by default), or nil when `cache`
    /// holds none for this device, driver, kernel source and class (or cannot be read, which it reports
    /// as a warning).
    public static func cachedTuning(for device: OpenCLDeviceInfo, shapeClass: GemmShapeClass = .square,
                                    cache: GemmTuningCache = GemmTuningCache()) -> GemmTuning? {
        cache.entry(for: GemmTuningCache.Key(device, shapeClass: tunedClass(shapeClass, on: device)))?.tuning
    }

    /// Where the cache lives (see the type's documentation).
    public static var cacheURL: URL {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["NN_GEMM_TUNING_CACHE"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        let base: URL
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            base = URL(fileURLWithPath: xdg)
        } else {
            base = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        }
        return base.appendingPathComponent("swiftnn").appendingPathComponent("gemm-tuning.json")
    }

    /// The candidates tried on a device's square class: a few register-block shapes around the defaults
    /// for CPU drivers (vector family, the driver's preferred vector width), else
    /// ``gpuCandidates(for:shapeClass:sampleSize:)``.
    public static func candidates(for device: OpenCLDeviceInfo) -> [GemmTuning] {
        candidates(for: device, shapeClass: .square)
    }

    /// The candidates tried on a device for one shape class, the built-in default first.
    public static func candidates(for device: OpenCLDeviceInfo, shapeClass: GemmShapeClass) -> [GemmTuning] {
        guard device.type == .cpu else { return gpuCandidates(for: device, shapeClass: shapeClass) }
        let all: [GemmTuning]
        if device.preferredFloatVectorWidth >= 16 {
            all = [(8, 2, 16, false), (8, 2, 16, true), (12, 2, 16, false), (4, 4, 16, false), (6, 3, 8, false), (8, 2, 8, false)]
                .map { GemmTuning(family: .vector, mr: $0.0, vectorWidth: 16, vectorsPerRow: $0.1, narrowRows: $0.2, packA: $0.3) }
        } else {
            all = [(6, 2, 12, false), (6, 2, 12, true), (4, 3, 8, false), (8, 1, 12, false), (4, 2, 6, false)]
                .map { GemmTuning(family: .vector, mr: $0.0, vectorWidth: 8, vectorsPerRow: $0.1, narrowRows: $0.2, packA: $0.3) }
        }
        return all.filter { (try? $0.validate()) != nil }
    }

    // MARK: The GPU search space

    /// The values each tiled-family size takes in the GPU search (CLBlast's tuner ranges, plus the
    /// padding, double-buffering and split-K choices this kernel adds).
    public enum GpuRanges {
        public static let workGroupTiles = [16, 32, 64, 128]   // MWG, NWG
        public static let kSteps = [8, 16, 32]                 // KWG
        public static let workGroupSides = [8, 16, 32]         // MDIMC, NDIMC
        public static let vectorWidths = [1, 2, 4, 8]          // VWM, VWN
        public static let paddings = [0, 1, 2, 4]              // PADA, PADB
        public static let unrolls = [2, 8]                     // KWI
        /// Split-K limits: square products never split; skinny ones may.
        public static func splitLimits(_ shapeClass: GemmShapeClass) -> [Int] { shapeClass == .square ? [1] : [1, 2, 4, 8] }
    }

    /// Registers one work-item may use before the compiler spills: 255 on NVIDIA and AMD GPUs.
    public static let gpuRegisterLimit = 255

    /// The GPU space of one class, held as its valid "cores" (tile sizes and vector widths, the choices
    /// that decide validity) times the free switches (strides, paddings, buffering, unrolling, split
    /// K), so that it can be counted and sampled without building its half a million to two million
    /// tunings.
    struct GpuSpace {
        let shapeClass: GemmShapeClass
        let cores: [GemmTuning]
        let splits: [Int]
        /// Switch combinations per core: STRM × STRN × PADA × PADB × DBUF × KWI × split limit (every KWI
        /// in the ranges divides every KWG, so the count is the same for every core).
        var variantsPerCore: Int { 2 * 2 * GpuRanges.paddings.count * GpuRanges.paddings.count * 2 * GpuRanges.unrolls.count * splits.count }
        var count: Int { cores.count * variantsPerCore }

        init(_ shapeClass: GemmShapeClass) {
            self.shapeClass = shapeClass
            splits = GpuRanges.splitLimits(shapeClass)
            var cores: [GemmTuning] = []
            for mwg in GpuRanges.workGroupTiles {
                for nwg in GpuRanges.workGroupTiles {
                    for kwg in GpuRanges.kSteps {
                        for mdimc in GpuRanges.workGroupSides {
                            for ndimc in GpuRanges.workGroupSides {
                                for vwm in GpuRanges.vectorWidths {
                                    for vwn in GpuRanges.vectorWidths {
                                        let core = GemmTuning(family: .tiled, mwg: mwg, nwg: nwg, kwg: kwg, mdimc: mdimc, ndimc: ndimc,
                                                              vwm: vwm, vwn: vwn, padA: 0, padB: 0, kwi: GpuRanges.unrolls[0])
                                        if (try? core.validate()) != nil { cores.append(core) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            self.cores = cores
        }

        /// The tuning at `index` in 0 ..< count (core-major, then the switches in a fixed order).
        func tuning(at index: Int) -> GemmTuning {
            var t = cores[index / variantsPerCore]
            var rest = index % variantsPerCore
            func take(_ choices: Int) -> Int { defer { rest /= choices }; return rest % choices }
            t.strm = take(2) == 1
            t.strn = take(2) == 1
            t.padA = GpuRanges.paddings[take(GpuRanges.paddings.count)]
            t.padB = GpuRanges.paddings[take(GpuRanges.paddings.count)]
            t.doubleBuffer = take(2) == 1
            t.kwi = GpuRanges.unrolls[take(GpuRanges.unrolls.count)]
            t.kSplit = splits[take(splits.count)]
            return t
        }

        /// How many tunings fit `device` (see ``GemmAutotuner/fits(_:on:)``). Only the paddings and
        /// the buffering change what a core needs, so each core is checked over those alone.
        func count(fitting device: OpenCLDeviceInfo) -> Int {
            let others = 2 * 2 * GpuRanges.unrolls.count * splits.count
            var total = 0
            for core in cores {
                for padA in GpuRanges.paddings {
                    for padB in GpuRanges.paddings {
                        for doubleBuffer in [false, true] {
                            var t = core
                            (t.padA, t.padB, t.doubleBuffer) = (padA, padB, doubleBuffer)
                            if GemmAutotuner.fits(t, on: device) { total += others }
                        }
                    }
                }
            }
            return total
        }
    }

    private static let gpuSpaces = LockedState([GemmShapeClass: GpuSpace]())

    static func gpuSpace(_ shapeClass: GemmShapeClass) -> GpuSpace {
        gpuSpaces.withLock { spaces in
            if let space = spaces[shapeClass] { return space }
            let space = GpuSpace(shapeClass)
            spaces[shapeClass] = space
            return space
        }
    }

    /// How many valid tiled tunings the GPU space of `shapeClass` holds: the cross product of
    /// ``GpuRanges`` less the combinations ``GemmTuning/validate()`` refuses; with `device`, only those
    /// that also fit it (``fits(_:on:)``).
    public static func gpuSpaceSize(shapeClass: GemmShapeClass, fitting device: OpenCLDeviceInfo? = nil) -> Int {
        let space = gpuSpace(shapeClass)
        return device.map { space.count(fitting: $0) } ?? space.count
    }

    /// Whether `tuning` can run well on `device`: its work-group fits the device's limit, its local
    /// tiles fit the device's local memory, its register estimate stays under ``gpuRegisterLimit``, and
    /// each work-item computes at least 4 outputs (fewer, and local-memory reads outnumber the FMAs
    /// they feed, which no GPU sustains).
    public static func fits(_ tuning: GemmTuning, on device: OpenCLDeviceInfo) -> Bool {
        let outputs = (tuning.mwg / tuning.mdimc) * (tuning.nwg / tuning.ndimc)
        return tuning.isRunnable(on: device)
            && tuning.tiledRegisterEstimate <= gpuRegisterLimit
            && outputs >= 4
    }

    /// The GPU candidates for `shapeClass` on `device`: the built-in default (when it fits), then up to
    /// `sampleSize` distinct tunings drawn uniformly from the space of ``gpuSpaceSize(shapeClass:fitting:)``
    /// (drawn from the whole space, those that do not fit discarded) by a generator with a fixed seed,
    /// so the same device always gets the same list.
    public static func gpuCandidates(for device: OpenCLDeviceInfo, shapeClass: GemmShapeClass,
                                     sampleSize: Int = gpuSampleSize) -> [GemmTuning] {
        let defaults = GemmTuning.defaults(for: device, shapeClass: shapeClass)
        let space = gpuSpace(shapeClass)
        var generator = SplitMix64(seed: shapeClass == .square ? 0x5EED_0001 : 0x5EED_0002)
        var chosen: [GemmTuning] = defaults.family == .tiled && fits(defaults, on: device) ? [defaults] : []
        var seen = Set(chosen)
        // Bounded, so that a device almost nothing fits ends the search instead of spinning.
        for _ in 0..<(sampleSize * 1000) where chosen.count < sampleSize + (seen.contains(defaults) ? 1 : 0) {
            let candidate = space.tuning(at: Int(generator.next() % UInt64(space.count)))
            if fits(candidate, on: device), seen.insert(candidate).inserted { chosen.append(candidate) }
        }
        return chosen
    }

    /// Sampled candidates per GPU shape class: more than a class's time budget is expected to measure
    /// (a candidate builds only its GEMM program), so that the budget ends a search rather than the sample.
    public static let gpuSampleSize = 256

    /// Seconds each GPU shape class may spend measuring candidates (the default and at least one
    /// sampled candidate are always measured): two classes make a tune of about two minutes.
    public static let gpuSecondsPerClass = 55.0

    // MARK: Measuring

    /// What one shape class's search measures: its candidates in order, the products timed, and how
    /// long it may go on (nil: every candidate).
    struct ClassPlan {
        var shapeClass: GemmShapeClass
        var candidates: [GemmTuning]
        var timed: [TimedShape]
        var secondsBudget: Double?
        /// The size of the space the candidates were drawn from, for the report.
        var spaceSize: Int
    }

    /// The searches ``tune(deviceSelector:cache:progress:)`` runs on `device`.
    static func plans(for device: OpenCLDeviceInfo) -> [ClassPlan] {
        shapeClasses(for: device).map { shapeClass in
            let candidates = candidates(for: device, shapeClass: shapeClass)
            guard device.type != .cpu else {
                return ClassPlan(shapeClass: shapeClass, candidates: candidates, timed: cpuTimedSet, secondsBudget: nil,
                                 spaceSize: candidates.count)
            }
            return ClassPlan(shapeClass: shapeClass, candidates: candidates, timed: gpuTimedSet(shapeClass),
                             secondsBudget: gpuSecondsPerClass, spaceSize: gpuSpaceSize(shapeClass: shapeClass, fitting: device))
        }
    }

    private static func tune(device: OpenCLDeviceInfo, cache: GemmTuningCache = GemmTuningCache(),
                             progress: (CandidateResult) -> Void = { _ in }) throws -> Report {
        try tune(device: device, plans: plans(for: device), cache: cache, progress: progress)
    }

    /// Runs `plans` on `device` (whatever its type: tests run GPU-style plans on PoCL), stores each
    /// class's winner in `cache` and returns what was measured.
    static func tune(device: OpenCLDeviceInfo, plans: [ClassPlan], cache: GemmTuningCache,
                     progress: (CandidateResult) -> Void = { _ in }) throws -> Report {
        var classes: [Report.ClassReport] = []
        var deviceWarm = false   // until a candidate is timed; one rejected first leaves the device cold
        for plan in plans {
            let shapeClass = plan.shapeClass
            let start = DispatchTime.now().uptimeNanoseconds
            func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
            var results: [CandidateResult] = []
            for candidate in plan.candidates {
                // The first two (the default and one sampled tuning) always run, so a slow build cannot
                // leave a class with nothing to compare.
                if let budget = plan.secondsBudget, results.count >= 2, elapsed() > budget { break }
                var result = CandidateResult(tuning: candidate, shapeClass: shapeClass, gflops: nil, rejection: nil)
                let opening = DispatchTime.now().uptimeNanoseconds
                // One tuning for both classes, so that every verified and timed shape runs the candidate.
                // Not retained: the winner is rebuilt (once) by the backends that use it.
                let opened = Result {
                    try OpenCLBackend(deviceSelector: String(device.index), gemmTuning: candidate, skinnyGemmTuning: nil,
                                      memoryKernels: nil, retainGemmPrograms: false)
                }
                result.buildSeconds = Double(DispatchTime.now().uptimeNanoseconds - opening) / 1e9
                do {
                    let backend = try opened.get()
                    result.privateMemoryBytes = backend.gemmPrivateMemoryBytes
                    if let wrong = try verify(backend) {
                        result.rejection = wrong
                    } else {
                        result.gflops = try measure(backend, plan.timed, warmUp: deviceWarm ? warmUpSeconds.each : warmUpSeconds.first)
                        deviceWarm = true
                    }
                } catch {
                    result.rejection = "\(error)"
                }
                results.append(result)
                progress(result)
            }
            var best: (tuning: GemmTuning, gflops: Double)?
            for result in results {
                if let gflops = result.gflops, gflops > (best?.gflops ?? -1) { best = (result.tuning, gflops) }
            }
            guard let best else {
                throw NNError.deviceFailure(call: "GEMM autotuning on \(device.name) (\(shapeClass.rawValue) products)",
                                            detail: "every candidate failed: " + results.compactMap(\.rejection).joined(separator: "; "))
            }
            let key = GemmTuningCache.Key(device, shapeClass: shapeClass)
            try cache.store(best.tuning, gflops: best.gflops, for: key)
            state.withLock { $0.forcedThisProcess[key] = best.tuning }
            classes.append(Report.ClassReport(shapeClass: shapeClass, candidates: results, chosen: best.tuning,
                                              defaults: GemmTuning.defaults(for: device, shapeClass: shapeClass),
                                              spaceSize: plan.spaceSize, seconds: elapsed()))
        }
        return Report(device: device, classes: classes, cachePath: cache.url.path)
    }

    /// nil when every product of `cases` matches its Float64 reference, else what went wrong.
    static func verify(_ backend: some Backend, cases: [VerificationCase] = verificationCases) throws -> String? {
        for check in cases {
            let (m, n, k) = (check.m, check.n, check.k)
            let a = try backend.makeTensor(check.a, shape: check.transposeA ? Shape(k, m) : Shape(m, k))
            let b = try backend.makeTensor(check.b, shape: check.transposeB ? Shape(n, k) : Shape(k, n))
            let c = try backend.makeTensor(check.c, shape: Shape(m, n))
            if let bias = check.bias {
                try backend.gemm(a, transposeA: check.transposeA, b, transposeB: check.transposeB, into: c, alpha: check.alpha,
                                 bias: try backend.makeTensor(bias, shape: Shape(1, n)), relu: true)
            } else {
                try backend.gemm(a, transposeA: check.transposeA, b, transposeB: check.transposeB, into: c, alpha: check.alpha,
                                 beta: check.beta)
            }
            let got = try backend.download(c)
            for index in got.indices where !(abs(Double(got[index]) - check.expected[index]) <= check.bound[index]) {
                return "wrong product: m=\(m) n=\(n) k=\(k) tA=\(check.transposeA) tB=\(check.transposeB) "
                    + (check.bias == nil ? "β=\(check.beta)" : "with bias and ReLU")
                    + " at (\(index / n), \(index % n)): \(got[index]) against \(check.expected[index])"
            }
        }
        return nil
    }

    /// One product a candidate must compute before it may be timed: operands, and the Float64 result
    /// with the error bound each element must meet.
    struct VerificationCase: Sendable {
        let m: Int, n: Int, k: Int
        let transposeA: Bool, transposeB: Bool
        let alpha: Float, beta: Float
        /// Set: the product runs as a dense layer's forward, ReLU(α·op(A)·op(B) + bias row), the tiled
        /// family's fused store.
        let bias: [Float]?
        let a: [Float], b: [Float], c: [Float]
        let expected: [Double], bound: [Double]
    }

    /// Every transpose pair of:
    /// - edges of every tile: odd sizes, N within one vector (the vector family's narrow kernel), k
    ///   below one step, and a k long enough to be split (split K with a short last slice); the first
    ///   shape also runs β = 0 over NaN, which must overwrite C without reading it;
    /// - (136, 136, 64): multiples of every vector width and k step in the GPU space, and larger than
    ///   any of its tiles (up to 128 × 128), so that one tile of any candidate lies wholly inside
    ///   aligned operands and takes the tiled kernel's interior path, the path the timed products
    ///   take, beside edge tiles;
    /// and that product once more with a bias row and ReLU.
    ///
    /// The references are the same for every candidate, so they are computed once per process.
    static let verificationCases: [VerificationCase] = {
        var generator = SplitMix64(seed: 0x5EED)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in generator.nextUnit() } }
        var cases: [VerificationCase] = []
        func add(_ m: Int, _ n: Int, _ k: Int, _ transposeA: Bool, _ transposeB: Bool, alpha: Float, beta: Float, withBias: Bool) {
            let a = values(m * k), b = values(k * n)
            let c = beta == 0 ? [Float](repeating: .nan, count: m * n) : values(m * n)
            let bias = withBias ? values(n) : nil
            var expected = [Double](repeating: 0, count: m * n), bound = expected
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0, magnitude = 0.0
                    for p in 0..<k {
                        let x = Double(transposeA ? a[p * m + i] : a[i * k + p])
                        let y = Double(transposeB ? b[j * k + p] : b[p * n + j])
                        sum += x * y
                        magnitude += abs(x * y)
                    }
                    let added = bias.map { Double($0[j]) } ?? (beta == 0 ? 0 : Double(beta) * Double(c[i * n + j]))
                    let value = Double(alpha) * sum + added
                    expected[i * n + j] = withBias ? max(0, value) : value
                    // Float accumulation over k terms errs by at most ~k·2⁻²⁴ of Σ|a·b|; 1e-4 of the
                    // magnitude is far above that and far below the O(1) error of a wrong kernel.
                    bound[i * n + j] = 1e-4 * (Double(alpha) * magnitude + abs(added)) + 1e-6
                }
            }
            cases.append(VerificationCase(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta,
                                          bias: bias, a: a, b: b, c: c, expected: expected, bound: bound))
        }
        let shapes = [(67, 45, 33), (37, 10, 29), (9, 70, 3), (1, 1, 1), (19, 35, 301), (136, 136, 64)]
        for (index, (m, n, k)) in shapes.enumerated() {
            for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
                add(m, n, k, transposeA, transposeB, alpha: 1.5, beta: index == 0 && transposeA ? 0 : 0.5, withBias: false)
            }
        }
        add(136, 136, 64, false, false, alpha: 1.5, beta: 0, withBias: true)
        return cases
    }()

    /// (m, n, k, transposeA, transposeB) of a timed set.
    typealias TimedShape = (Int, Int, Int, Bool, Bool)

    /// CPU drivers: 512³, then the 784-512-256-10 MLP at batch 256 in the forward, weight-gradient and
    /// input-gradient forms.
    static let cpuTimedSet: [TimedShape] = [
        (512, 512, 512, false, false), (256, 512, 784, false, false), (784, 512, 256, true, false),
        (256, 784, 512, false, true), (256, 10, 256, false, false), (256, 10, 256, true, false),
    ]

    /// GPUs: 2048³ in the forward, weight-gradient and input-gradient forms for the square class (large
    /// enough to fill any current GPU, short enough to time a slow candidate in well under a second);
    /// the batch-256 784-512-256 MLP layers in the same three forms for the skinny class.
    static func gpuTimedSet(_ shapeClass: GemmShapeClass) -> [TimedShape] {
        switch shapeClass {
        case .square:
            return [(2048, 2048, 2048, false, false), (2048, 2048, 2048, true, false), (2048, 2048, 2048, false, true)]
        case .skinny:
            return [(256, 512, 784, false, false), (784, 512, 256, true, false), (256, 784, 512, false, true),
                    (256, 256, 512, false, false), (512, 256, 256, true, false), (256, 512, 256, false, true)]
        }
    }

    /// Seconds of untimed passes before a candidate's timed ones: first launches and page faults in the
    /// scratch buffers. The first candidate a tune times warms up longer: a GPU leaves its idle clocks,
    /// and a CPU driver its thread pool's sleep, only after some milliseconds of work, which would
    /// otherwise count against the built-in default, always measured first.
    static let warmUpSeconds = (first: 0.5, each: 0.02)

    /// Seconds of timed passes per candidate, at least 3 passes. A pass lasts milliseconds (the GPU
    /// square set, or the CPU set on PoCL), and on a shared 2-core host the best of three passes of
    /// one tuning varied from 167 to 261 GFLOP/s with its position in the tune; 0.1 s of passes, after
    /// the warm-up, kept it within 314–350.
    static let timedSeconds = 0.1

    /// GFLOP/s over one pass of the timed set: the best pass after warming up for `warmUp` seconds.
    static func measure(_ backend: OpenCLBackend, _ set: [TimedShape], warmUp: Double = warmUpSeconds.each) throws -> Double {
        var operands: [(Tensor, Bool, Tensor, Bool, Tensor)] = []
        var flops = 0.0
        for (m, n, k, transposeA, transposeB) in set {
            let a = try backend.makeTensor([Float](repeating: 0.5, count: m * k), shape: transposeA ? Shape(k, m) : Shape(m, k))
            let b = try backend.makeTensor([Float](repeating: 0.25, count: k * n), shape: transposeB ? Shape(n, k) : Shape(k, n))
            operands.append((a, transposeA, b, transposeB, try backend.makeTensor(Shape(m, n))))
            flops += 2 * Double(m * n * k)
        }
        func pass() throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            for (a, transposeA, b, transposeB, c) in operands {
                try backend.gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: 1, beta: 0)
            }
            try backend.synchronize()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        var warm = 0.0
        repeat { warm += try pass() } while warm < warmUp
        var best = Double.infinity, timed = 0.0, passes = 0
        repeat {
            let seconds = try pass()
            (best, timed, passes) = (min(best, seconds), timed + seconds, passes + 1)
        } while passes < 3 || timed < timedSeconds
        return flops / best / 1e9
    }

    // MARK: Cache

    private struct State {
        var forcedThisProcess: [GemmTuningCache.Key: GemmTuning] = [:]
    }

    private static let state = LockedState(State())

    /// FNV-1a (64-bit) of the GEMM kernel source and the prelude it compiles with: stable across runs and
    /// platforms, unlike `Hasher`.
    public static let kernelSourceHash: String = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (KernelSources.prelude + KernelSources.gemm).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }()
}

/// A value behind a lock, for the autotuner's process-wide memory.
final class LockedState<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// SplitMix64, for reproducible verification operands in [-1, 1].
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextUnit() -> Float {
        Float(next() >> 40) / Float(1 << 23) - 1
    }
}
