import ArgumentParser
import Foundation
import NNCore
import NNNative
import NNTrain

/// `nn gradcheck`: back-propagation against two-sided differences on a small network with every
/// layer type, in Float64 on the native backend. Exits non-zero when any layer exceeds the threshold.
struct GradCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradcheck",
        abstract: "Check back-propagated gradients against numerical differences (ε = 1e-7, Float64).",
        discussion: "Prints the relative error ‖g − g̃‖ / (‖g‖ + ‖g̃‖) per layer; exits 1 when any exceeds --threshold.")

    @Option(parsing: .unconditional, help: ArgumentHelp("L2 λ included in the checked cost.", valueName: "lambda"))
    var l2: Float = 0

    @Option(parsing: .unconditional, help: ArgumentHelp("L1 λ included in the checked cost.", valueName: "lambda"))
    var l1: Float = 0

    @Option(parsing: .unconditional, help: ArgumentHelp("Rows in the random batch.", valueName: "n"))
    var samples: Int = 8

    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of the weights and the batch.", valueName: "n"))
    var seed: UInt64 = 7

    @Option(parsing: .unconditional, help: ArgumentHelp("Largest acceptable relative error.", valueName: "x"))
    var threshold: Double = GradientCheck.threshold

    @Flag(help: "One JSON line instead of the table.")
    var json: Bool = false

    static let maximumSamples = 4096

    func validate() throws {
        guard samples >= 2 else { throw ValidationError("--samples \(samples): batch norm needs at least 2 rows") }
        // Each parameter costs two forward passes over the batch, so a few rows check as well as many.
        guard samples <= Self.maximumSamples else {
            throw ValidationError("--samples \(samples): at most \(Self.maximumSamples) rows; a gradient check needs only a few")
        }
        guard l2 >= 0, l1 >= 0, l2.isFinite, l1.isFinite else { throw ValidationError("--l2 and --l1 must be finite numbers ≥ 0") }
        guard threshold > 0, threshold.isFinite else { throw ValidationError("--threshold \(threshold) must be a finite number > 0") }
    }

    func run() throws {
        let spec = try GradientCheck.standardSpec()
        let backend = NativeBackend(precision: .float64, threads: 1)
        let reports = try GradientCheck.run(spec: spec, regularization: Regularization(l2: l2, l1: l1), backend: backend,
                                            samples: samples, seed: seed)
        let worst = reports.map(\.relativeError).max() ?? 0
        let passed = worst <= threshold
        if json {
            var line = JSONLine()
            line.add("passed", passed)
            line.add("worst_relative_error", worst)
            line.add("threshold", threshold)
            for r in reports { line.add("layer_\(r.layer)_\(r.kind)", r.relativeError) }
            Terminal.printLine(line.text)
        } else {
            let layers = spec.layers.enumerated().map { "\($0.offset):\($0.element.kindName)" }.joined(separator: " ")
            Terminal.printLine("gradient check (ε = \(GradientCheck.epsilon), Float64, \(samples) samples, l2 \(l2), l1 \(l1); dropout off)")
            Terminal.printLine("network: \(layers)")
            Terminal.printLine("layer  kind        parameters                   count  relative error  max |Δ|")
            for r in reports {
                let names = r.parameters.joined(separator: ",")
                Terminal.printLine(String(format: "%5d  ", r.layer) + Self.padded(r.kind, 10) + "  " + Self.padded(names, 27)
                                   + String(format: "  %5d  %14.3e  %8.2e", r.parameterCount, r.relativeError, r.maxAbsoluteDifference)
                                   + (r.relativeError > threshold ? "  FAIL" : ""))
            }
            Terminal.printLine(passed ? "passed: worst relative error \(String(format: "%.3e", worst)) ≤ \(threshold)"
                                      : "FAILED: worst relative error \(String(format: "%.3e", worst)) > \(threshold)")
        }
        if !passed {
            throw CommandFailure(message: "gradient check failed: relative error \(String(format: "%.3e", worst)) exceeds \(threshold)",
                                 exitCode: CommandFailure.dataOrModel)
        }
    }

    private static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
