import Foundation
import NNKernels
@testable import NNOpenCL
import XCTest

/// The kernel programs as GPU compilers see them, checked without a GPU.
///
/// PoCL inlines every function and keeps every array wherever it likes, so code that a GPU compiler
/// cannot link, or that it runs from slow private memory, passes every conformance case on it. Here
/// clang (PoCL's own dependency) compiles the programs exactly as the backend builds them (same sources,
/// same options) for
/// - AMD GPUs: LLVM's AMDGPU back end with ROCm's device library (apt: rocm-device-libs), the compiler
///   AMD's OpenCL driver is built on. Its register allocation is real: it reports registers, spills,
///   scratch (private memory) and occupancy per kernel. gfx90a is CDNA2 (MI200), gfx1030 RDNA2.
/// - NVIDIA GPUs: LLVM's NVPTX back end with libclc's built-ins (apt: libclc-15). NVIDIA's own
///   compiler is not available, so this shows what reaches PTX (calls, arrays left in local memory),
///   not ptxas's register allocation.
///
/// and requires: every kernel present; no function calls left (every helper inlined, none
/// undefined); no GPU-shaped kernel using private memory; the float4 kernels' loads and stores kept
/// 16 bytes wide; the memory-bound kernels' loads issued back to back; and, on CDNA2, the built-in
/// GPU GEMM defaults and their fallbacks within the 256 vector registers, without spills, issuing a
/// k step's loads without waiting between them.
final class GPUCompilerTests: XCTestCase {
    /// The GPU-shaped kernels that read or write float4s: the GPU shapes' kernels but the column
    /// reductions (one float per row lane, coalesced across the columns), and the tiled GEMM.
    /// A GPU moves 16 bytes per work-item per instruction only if the compiler keeps them whole (an
    /// alignment it cannot prove splits them).
    static let vectorisedKernels: [KernelName] = KernelName.allCases.filter {
        LaunchPlan.workGroupShapeKernels.subtracting(LaunchPlan.columnLaneKernels).contains($0)
    } + LaunchPlan.tiledGemmKernels

    /// Loads the memory-bound GPU kernels issue back to back per work-item, at least: with one at a
    /// time, a load under a condition or waited for before the next, too few bytes are in flight to
    /// keep a GPU's memory busy. Softmax loads its ROW_CACHE float4 of the row at once; the column
    /// reductions SUM_UNROLL (4) rows or chunks (of dy and x both, in batch norm's backward); the
    /// split-K sum four slices; the whole-tensor sum four strides.
    static let loadsInFlight: [(KernelName, Int)] = [
        (.softmaxRows, OpenCLBackend.gpuRowCache), (.softmaxXent, OpenCLBackend.gpuRowCache),
        (.bnStatisticsPartials, 4), (.bnStatisticsFinish, 4), (.bnBackwardPartials, 2 * 4), (.bnBackwardFinish, 4),
        (.bnForwardColumnGroups, 4), (.bnBackwardColumnGroups, 2 * 4),
        (.columnPartialsLanes, 4), (.columnFinishLanes, 4), (.gemmSplitKReduce, 4), (.reducePartials, 4),
    ]

    /// Every kernel of both programs, built as a GPU builds them untuned, on every target.
    func testTheProgramCompilesForGPUsWithoutCallsOrPrivateMemory() throws {
        let tuning = GemmTuning.gpuSquareDefault
        // The vector family is the CPU drivers', but a tuning may give it to any device.
        let vectorTuning = GemmTuning(family: .vector, mr: 8, vectorWidth: 16, vectorsPerRow: 2, narrowRows: 16)
        let parts: [(ProgramPart, String)] = [(.memoryBound, OpenCLBackend.memoryBoundBuildOptions),
                                              (.gemm(.tiled), OpenCLBackend.gemmBuildOptions(tuning)),
                                              (.gemm(.vector), OpenCLBackend.gemmBuildOptions(vectorTuning))]
        let jobs = GPUCompiler.Target.all.flatMap { target in parts.map { part, options in (part.source, options, target) } }
        let builds = try GPUCompiler.compileAll(jobs)
        for (index, target) in GPUCompiler.Target.all.enumerated() {
            let context = "\(target.name), \(tuning)"
            var kernels: [String: GPUCompiler.Kernel] = [:]
            for (offset, (part, _)) in parts.enumerated() {
                let built = builds[index * parts.count + offset]
                XCTAssertEqual(Set(built.keys), Set(part.kernels.map(\.rawValue)), "the \(part) program's kernels, \(context)")
                kernels.merge(built) { first, _ in first }
            }
            XCTAssertEqual(Set(kernels.keys), Set(KernelName.allCases.map(\.rawValue)), "every kernel built, \(context)")
            for (name, kernel) in kernels.sorted(by: { $0.key < $1.key }) {
                XCTAssertFalse(kernel.makesCalls, "\(name) calls a function (a helper not inlined), \(context)")
                // The CPU shapes' one-item kernels keep float16 register blocks a GPU would spill; GPUs
                // run them only when they hold fewer than 256 work-items per group.
                if let kernelName = KernelName(rawValue: name), !LaunchPlan.singleItemKernels.contains(kernelName) {
                    XCTAssertEqual(kernel.privateBytes, 0, "\(name) uses private memory (an array indexed at run time, or spills), \(context)")
                }
            }
            for name in Self.vectorisedKernels {
                XCTAssertEqual(kernels[name.rawValue]?.wideStores, true, "\(name.rawValue) stores no float4 whole, \(context)")
                if name != .fillV4 {
                    XCTAssertEqual(kernels[name.rawValue]?.wideLoads, true, "\(name.rawValue) loads no float4 whole, \(context)")
                }
            }
            for (name, loads) in Self.loadsInFlight {
                XCTAssertGreaterThanOrEqual(kernels[name.rawValue]?.loadRun ?? 0, loads,
                                            "\(name.rawValue) does not issue \(loads) loads back to back, \(context)")
            }
            if let usage = kernels[KernelName.gemmTiledNN.rawValue]?.registers {
                print("\(target.name): gemm_tiled_nn with \(tuning): \(usage)")
            }
        }
    }

    /// The GEMM kernels for each tuning a GPU gets without tuning (both defaults and the chain of
    /// fallbacks for smaller devices) and for the representative points of the tuner's space.
    func testTiledGemmTuningsCompileForGPUs() throws {
        let untuned = [GemmTuning.gpuSquareDefault, GemmTuning.gpuSkinnyDefault].flatMap(GemmTuning.gpuFallbacks(from:))
        let tunings = Array(Set(untuned + GemmTiledTests.representativeTunings)).sorted { "\($0)" < "\($1)" }
        let builds = tunings.flatMap { tuning in [GPUCompiler.Target.cdna2, .nvidia].map { (tuning, $0) } }
        let jobs = builds.map { tuning, target in (ProgramPart.gemm(tuning.family).source, OpenCLBackend.gemmBuildOptions(tuning), target) }
        for ((tuning, target), kernels) in zip(builds, try GPUCompiler.compileAll(jobs)) {
            for name in (LaunchPlan.tiledGemmKernels + [.gemmSplitKReduce]).map(\.rawValue) {
                let kernel = try XCTUnwrap(kernels[name], "\(name) not built with \(tuning) for \(target.name)")
                XCTAssertFalse(kernel.makesCalls, "\(name) calls a function with \(tuning) for \(target.name)")
                XCTAssertEqual(kernel.privateBytes, 0, "\(name) uses private memory with \(tuning) for \(target.name)")
            }
            // What a GPU gets untuned must not spill: past 256 vector registers CDNA2 spills into
            // its accumulation registers (AGPRs), then into scratch. And on the interior path (see
            // tg_k_steps in gemm.cl) a k step's float4 loads must issue back to back: the per-vector
            // edge tests made the compiler wait for each load before issuing the next.
            for name in LaunchPlan.tiledGemmKernels.map(\.rawValue) where untuned.contains(tuning) {
                guard let kernel = kernels[name], let registers = kernel.registers else { continue }
                XCTAssertEqual(registers.spilledVGPRs, 0, "\(name) spills with \(tuning): \(registers)")
                XCTAssertEqual(registers.agprs, 0, "\(name) overflows the vector registers with \(tuning): \(registers)")
                if tuning.vwm == 4 && tuning.vwn == 4 {
                    let loadsPerStep = tuning.kwg * (tuning.mwg + tuning.nwg) / (4 * tuning.mdimc * tuning.ndimc)
                    XCTAssertGreaterThanOrEqual(kernel.loadRun, loadsPerStep,
                                                "\(name) with \(tuning) does not issue a k step's \(loadsPerStep) float4 loads back to back")
                }
            }
        }
    }
}

/// clang as a stand-in GPU compiler (see `GPUCompilerTests`).
enum GPUCompiler {
    struct Target {
        let name: String
        let arguments: [String]
        let isAMD: Bool

        #if arch(arm64)
        static let rocmBitcode = "/usr/lib/aarch64-linux-gnu/amdgcn/bitcode"
        #else
        static let rocmBitcode = "/usr/lib/x86_64-linux-gnu/amdgcn/bitcode"
        #endif
        static let libclcNVPTX = "/usr/lib/clc/nvptx64--nvidiacl.bc"

        static func amd(_ cpu: String, _ name: String) -> Target {
            Target(name: "AMD \(cpu) (\(name))", arguments: ["-target", "amdgcn-amd-amdhsa", "-mcpu=\(cpu)", "--rocm-device-lib-path=\(rocmBitcode)",
                                                           "-Rpass-analysis=kernel-resource-usage"], isAMD: true)
        }

        static let cdna2 = amd("gfx90a", "CDNA2, MI200")
        static let rdna2 = amd("gfx1030", "RDNA2")
        // sm_80 (Ampere) is the newest architecture LLVM 15 knows; what is checked here does not depend on it.
        static let nvidia = Target(name: "NVIDIA PTX sm_80", arguments: ["-target", "nvptx64-nvidia-nvcl", "-march=sm_80",
                                                                         "-Xclang", "-mlink-bitcode-file", "-Xclang", libclcNVPTX], isAMD: false)
        static let all = [cdna2, rdna2, nvidia]
    }

    /// What the AMDGPU back end reports of one kernel's registers.
    struct Registers: CustomStringConvertible {
        var vgprs = 0, agprs = 0, spilledVGPRs = 0, occupancy = 0
        var description: String { "\(vgprs) VGPRs, \(agprs) AGPRs, \(spilledVGPRs) spilled, occupancy \(occupancy) waves/SIMD" }
    }

    struct Kernel {
        var makesCalls = false
        /// Scratch bytes per work-item (AMD), or bytes of PTX local memory the kernel declares (NVIDIA).
        var privateBytes = 0
        /// Whether some global load (store) moves 16 bytes at once.
        var wideLoads = false, wideStores = false
        /// The most global loads issued in a row, with no branch or label between them and (AMD) no
        /// wait for loads (`s_waitcnt vmcnt`): how many loads one work-item can have in flight.
        var loadRun = 0
        var registers: Registers?
    }

    static let clang = "/usr/bin/clang-15"

    /// ``compile(_:options:for:)`` for each job, as many at once as there are cores (each clang is one
    /// thread), in the jobs' order.
    static func compileAll(_ jobs: [(source: String, options: String, target: Target)]) throws -> [[String: Kernel]] {
        let results = LockedState([Int: Result<[String: Kernel], Error>]())
        DispatchQueue.concurrentPerform(iterations: jobs.count) { index in
            let job = jobs[index]
            let result = Result { try compile(job.source, options: job.options, for: job.target) }
            results.withLock { $0[index] = result }
        }
        return try results.withLock { done in try jobs.indices.map { try done[$0]!.get() } }
    }

    /// Compiles `source` with the backend's `options` (OpenCL C build options, which clang takes as
    /// they are) and returns what it made of each kernel.
    static func compile(_ source: String, options: String, for target: Target) throws -> [String: Kernel] {
        let required = [clang] + (target.isAMD ? [Target.rocmBitcode] : [Target.libclcNVPTX])
        for path in required where !FileManager.default.fileExists(atPath: path) {
            throw CompileFailure(message: "\(path) is missing: apt-get install clang-15 rocm-device-libs libclc-15 (scripts/install-deps.sh does)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-compiler-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("program.cl"), output = folder.appendingPathComponent("program.s")
        try source.write(to: input, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: clang)
        process.arguments = ["-x", "cl", "-O3", "-Xclang", "-finclude-default-header"] + target.arguments
            + options.split(separator: " ").map(String.init) + ["-S", input.path, "-o", output.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CompileFailure(message: "\(target.name) failed to compile the program with \(options):\n\(log.suffix(4000))")
        }
        let assembly = try String(contentsOf: output, encoding: .utf8)
        return target.isAMD ? amdKernels(assembly: assembly, remarks: log) : nvidiaKernels(ptx: assembly)
    }

    struct CompileFailure: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// Kernels from AMDGPU assembly (calls: `s_swappc_b64`) and its resource-usage remarks.
    private static func amdKernels(assembly: String, remarks: String) -> [String: Kernel] {
        var kernels: [String: Kernel] = [:]
        var current: String?
        for line in remarks.split(separator: "\n") {
            guard let range = line.range(of: "remark: ") else { continue }
            let text = line[range.upperBound...].replacingOccurrences(of: " [-Rpass-analysis=kernel-resource-usage]", with: "")
                .trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("Function Name: ") {
                let name = String(text.dropFirst("Function Name: ".count))
                kernels[name] = Kernel(registers: Registers())
                current = name
                continue
            }
            guard let name = current, let colon = text.lastIndex(of: ":"),
                  let value = Int(text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)) else { continue }
            switch String(text[..<colon]) {
            case "VGPRs": kernels[name]?.registers?.vgprs = value
            case "AGPRs": kernels[name]?.registers?.agprs = value
            case "VGPRs Spill": kernels[name]?.registers?.spilledVGPRs = value
            case "Occupancy [waves/SIMD]": kernels[name]?.registers?.occupancy = value
            case "ScratchSize [bytes/lane]": kernels[name]?.privateBytes = value
            default: break
            }
        }
        // A function starts at its label, "gemm_tiled_nn:   ; @gemm_tiled_nn" (block labels start with ".").
        let labels = { (line: String) -> String? in
            guard let first = line.first, first.isLetter || first == "_", let colon = line.firstIndex(of: ":") else { return nil }
            return String(line[..<colon])
        }
        for (name, body) in functionBodies(assembly, start: labels) where kernels[name] != nil {
            kernels[name]?.makesCalls = body.contains("s_swappc_b64")
            kernels[name]?.wideLoads = body.contains("global_load_dwordx4") || body.contains("buffer_load_dwordx4")
            kernels[name]?.wideStores = body.contains("global_store_dwordx4") || body.contains("buffer_store_dwordx4")
            kernels[name]?.loadRun = longestLoadRun(body, isLoad: { $0.hasPrefix("global_load") || $0.hasPrefix("buffer_load") }) {
                $0.hasPrefix("s_waitcnt") && $0.contains("vmcnt") || $0.hasPrefix("s_cbranch") || $0.hasPrefix("s_branch") || $0.hasPrefix(".LBB")
            }
        }
        return kernels
    }

    /// See ``Kernel/loadRun``; a label ends a run too, since another path may join there.
    private static func longestLoadRun(_ body: String, isLoad: (String) -> Bool, endsRun: (String) -> Bool) -> Int {
        var longest = 0, run = 0
        for line in body.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if isLoad(text) {
                run += 1
                longest = max(longest, run)
            } else if endsRun(text) {
                run = 0
            }
        }
        return longest
    }

    /// Kernels from PTX: an `.entry` each; calls are `call` instructions, private memory a `__local_depot`.
    private static func nvidiaKernels(ptx: String) -> [String: Kernel] {
        var kernels: [String: Kernel] = [:]
        for (name, body) in functionBodies(ptx, start: { line in
            line.hasPrefix(".entry ") || line.hasPrefix(".visible .entry ")
                ? line.components(separatedBy: ".entry ").last?.components(separatedBy: "(").first : nil
        }) {
            var kernel = Kernel()
            kernel.makesCalls = body.contains("call.uni") || body.contains("\tcall ")
            kernel.wideLoads = body.contains("ld.global.v4.") || body.contains("ld.global.nc.v4.")
            kernel.wideStores = body.contains("st.global.v4.")
            kernel.loadRun = longestLoadRun(body, isLoad: { $0.hasPrefix("ld.global") }) {
                $0.hasPrefix("$L__BB") || $0.hasPrefix("bra") || ($0.hasPrefix("@") && $0.contains(" bra"))
            }
            for line in body.split(separator: "\n") where line.contains(".local") && line.contains("__local_depot") {
                // ".local .align 8 .b8 __local_depot3[24];"
                if let open = line.lastIndex(of: "["), let close = line.lastIndex(of: "]"), let bytes = Int(line[line.index(after: open)..<close]) {
                    kernel.privateBytes += bytes
                }
            }
            kernels[name] = kernel
        }
        return kernels
    }

    /// The text of each function, from a line `start` names to the next such line.
    private static func functionBodies(_ text: String, start: (String) -> String?) -> [(String, String)] {
        var bodies: [(String, String)] = []
        var name: String?, lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let next = start(String(line)) {
                if let name { bodies.append((name, lines.joined(separator: "\n"))) }
                name = next
                lines = []
            } else {
                lines.append(line)
            }
        }
        if let name { bodies.append((name, lines.joined(separator: "\n"))) }
        return bodies
    }
}
