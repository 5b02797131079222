import ArgumentParser
import NNBackends
import NNCore

/// `nn devices`: every OpenCL platform and device, the native backend, and what `auto` picks and why.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List OpenCL devices and the native backend, and say which one --backend auto picks and why.")

    @Flag(help: "One JSON line instead of text.")
    var json: Bool = false

    func run() throws {
        let report = BackendSelection.deviceReport()
        guard json else {
            Terminal.printLine(report.description)
            return
        }
        var line = JSONLine()
        line.add("auto", report.autoChoice.rawValue)
        line.add("auto_device", report.autoDevice)
        line.add("auto_reason", report.autoReason)
        line.add("native", report.native)
        line.add("opencl_devices", report.openCLDevices.map(\.description).joined(separator: "; "))
        line.add("opencl_problem", report.openCLListingProblem)
        Terminal.printLine(line.text)
    }
}
