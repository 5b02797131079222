import ArgumentParser
import Foundation
import NNBackends
import NNConformance
import NNCore
import NNOpenCL

/// `nn devices`: every registered backend and its devices, what `auto` picks and why, and which
/// OpenCL devices have a cached GEMM tuning; `--tune` measures one for the selected device first;
/// `--check` runs the op conformance suite on every device instead of listing them (after tuning,
/// when both are given, so the check covers the tuned kernels).
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the registered backends and their devices, say which one --backend auto picks and why, "
            + "and (--check) verify every device against the op conformance suite.")

    @Flag(help: "One JSON line instead of text.")
    var json: Bool = false

    @Flag(help: "Autotune the OpenCL GEMM for the selected device (NN_OPENCL_DEVICE, else the first GPU, else the first device) and cache the winner.")
    var tune: Bool = false

    @Flag(help: "Run the op conformance suite (every op, gradients included, against a Float64 reference) on every device found; exit 1 on any failure.")
    var check: Bool = false

    @Option(help: ArgumentHelp("With --check: only these backends (comma-separated registered names); each must offer a device.",
                               valueName: "name"))
    var backend: String?

    @Option(help: ArgumentHelp("With --check: only these cases (comma-separated families, case ids or case names, e.g. algebra,batch-norm/backward).",
                               valueName: "cases"))
    var cases: String?

    @Flag(help: "With --check: print every case as it finishes, with its time, not only the failures.")
    var verbose: Bool = false

    func validate() throws {
        if backend != nil, !check {
            throw ValidationError("--backend limits --check; give --check too (or use `nn train --backend` to choose a backend)")
        }
        if (cases != nil || verbose), !check {
            throw ValidationError("--cases and --verbose apply to --check; give --check too")
        }
        _ = try chosenCases()
    }

    /// The cases `--cases` names, every case without it.
    private func chosenCases() throws -> [ConformanceCase] {
        let selectors = Self.commaSeparated(cases)
        guard !selectors.isEmpty else { return ConformanceSuite.cases }
        do {
            return try ConformanceSuite.cases(matching: selectors)
        } catch NNError.invalidArgument(_, let detail) {
            throw ValidationError("--cases: \(detail)")
        }
    }

    private static func commaSeparated(_ value: String?) -> [String] {
        (value ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() throws {
        if tune {
            let report = try GemmAutotuner.tune { result in Terminal.printLine("  measured " + result.summary) }
            Terminal.printLine(report.description)
        }
        if check {
            let report = try DeviceCheck.run(names: Self.commaSeparated(backend), cases: try chosenCases(), verbose: verbose) {
                Terminal.printLine($0)
            }
            if !report.passed { throw ExitCode(1) }
            return
        }
        let report = BackendSelection.deviceReport()
        // One row per device and tuned shape class (CPU drivers: one tuning for every shape).
        let tunings = report.openCLDevices.flatMap { device in
            GemmAutotuner.shapeClasses(for: device).map { shapeClass in
                (device: device, shapeClass: shapeClass, tuning: GemmAutotuner.cachedTuning(for: device, shapeClass: shapeClass))
            }
        }
        guard json else {
            Terminal.printLine(report.description)
            if !tunings.isEmpty {
                Terminal.printLine("GEMM tuning (\(GemmAutotuner.cacheURL.path)):")
                for (device, shapeClass, tuning) in tunings {
                    let state = tuning.map { "tuned: \($0)" }
                        ?? "not tuned, built-in \(GemmTuning.defaults(for: device, shapeClass: shapeClass)) (run `nn devices --tune`)"
                    let label = GemmAutotuner.shapeClasses(for: device).count > 1 ? " \(shapeClass.rawValue)" : ""
                    Terminal.printLine("  [\(device.index)]\(label) \(state)")
                }
            }
            return
        }
        var line = JSONLine()
        line.add("auto", report.autoChoice.name)
        line.add("auto_device", report.autoDevice)
        line.add("auto_reason", report.autoReason)
        line.add("native", report.native)
        line.add("backends", report.backends.map(\.name).joined(separator: ", "))
        line.add("opencl_devices", report.openCLDevices.map(\.description).joined(separator: "; "))
        line.add("opencl_problem", report.openCLListingProblem)
        line.add("gemm_tuning", tunings.map { "[\($0.device.index)] \($0.shapeClass.rawValue) " + ($0.tuning.map { "tuned \($0)" } ?? "default") }
            .joined(separator: "; "))
        Terminal.printLine(line.text)
    }
}
