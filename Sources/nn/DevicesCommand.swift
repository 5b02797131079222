import ArgumentParser
import NNBackends
import NNCore
import NNOpenCL

/// `nn devices`: every OpenCL platform and device, the native backend, what `auto` picks and why, and
/// which devices have a cached GEMM tuning; `--tune` measures one for the selected device first.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List OpenCL devices and the native backend, and say which one --backend auto picks and why.")

    @Flag(help: "One JSON line instead of text.")
    var json: Bool = false

    @Flag(help: "Autotune the OpenCL GEMM for the selected device (NN_OPENCL_DEVICE, else the first GPU, else the first device) and cache the winner.")
    var tune: Bool = false

    func run() throws {
        if tune {
            let report = try GemmAutotuner.tune { result in Terminal.printLine("  measured " + result.summary) }
            Terminal.printLine(report.description)
        }
        let report = BackendSelection.deviceReport()
        let tunings = report.openCLDevices.map { (device: $0, tuning: GemmAutotuner.cachedTuning(for: $0)) }
        guard json else {
            Terminal.printLine(report.description)
            if !tunings.isEmpty {
                Terminal.printLine("GEMM tuning (\(GemmAutotuner.cacheURL.path)):")
                for (device, tuning) in tunings {
                    let state = tuning.map { "tuned: \($0)" }
                        ?? "not tuned, built-in \(GemmTuning.defaults(for: device)) (run `nn devices --tune`)"
                    Terminal.printLine("  [\(device.index)] \(state)")
                }
            }
            return
        }
        var line = JSONLine()
        line.add("auto", report.autoChoice.rawValue)
        line.add("auto_device", report.autoDevice)
        line.add("auto_reason", report.autoReason)
        line.add("native", report.native)
        line.add("opencl_devices", report.openCLDevices.map(\.description).joined(separator: "; "))
        line.add("opencl_problem", report.openCLListingProblem)
        line.add("gemm_tuning", tunings.map { "[\($0.device.index)] " + ($0.tuning.map { "tuned \($0)" } ?? "default") }
            .joined(separator: "; "))
        Terminal.printLine(line.text)
    }
}
