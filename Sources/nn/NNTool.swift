import ArgumentParser
import Foundation
import NNCore
import NNDistributed
import NNTune

/// `nn`: train, evaluate and check dense neural networks on OpenCL or the native backend.
struct NNTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nn",
        abstract: "Train and evaluate dense neural networks on OpenCL or native Swift.",
        discussion: """
            Data sets: fashion-mnist (apt-get install dataset-fashion-mnist), mnist (scripts/setup-mnist.py), \
            digits (scikit-learn), or a path to a CSV, .npy, .npz or IDX file.
            Exit codes: 0 success, 1 data/model/training error, 2 usage error.
            """,
        subcommands: [TrainCommand.self, EvalCommand.self, PredictCommand.self, ExportCommand.self, GradCheckCommand.self,
                      DevicesCommand.self, TuneCommand.self, DashboardCommand.self])

    /// Parses the command line, runs the command, and exits with the documented status.
    static func runAndExit(_ arguments: [String]? = nil) -> Never {
        if let help = TuneCommand.helpText(for: arguments ?? Array(CommandLine.arguments.dropFirst())) {
            print(help)
            Foundation.exit(0)
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            Foundation.exit(0)
        } catch {
            Foundation.exit(report(error))
        }
    }

    /// Prints `error` to stderr (help and version go to stdout) and returns the exit status.
    static func report(_ error: Error) -> Int32 {
        let name = DistributedLaunch.label
        if let failure = error as? CommandFailure {
            if !failure.message.isEmpty { Terminal.printError("\(name): \(failure.message)") }
            return failure.exitCode
        }
        if let tuneError = error as? TuneError {
            Terminal.printError("\(name): \(tuneError.description)")
            return tuneError.isUsageError ? CommandFailure.usage : CommandFailure.dataOrModel
        }
        if let nnError = error as? NNError {
            Terminal.printError("\(name): \(nnError.description)")
            return CommandFailure.dataOrModel
        }
        if let distributed = error as? DistributedError {
            Terminal.printError("\(name): \(distributed.description)")
            return CommandFailure.dataOrModel
        }
        let code = exitCode(for: error)
        if code == .success {
            // --help, --version: ArgumentParser's text goes to stdout.
            print(fullMessage(for: error))
            return 0
        }
        let message = fullMessage(for: error)
        if !message.isEmpty { Terminal.printError(message) }
        // ArgumentParser reports usage problems as EX_USAGE (64); this tool promises 2, like most Unix tools.
        if code == .validationFailure { return CommandFailure.usage }
        if code == ExitCode(EXIT_FAILURE) { return CommandFailure.dataOrModel }
        return code.rawValue
    }
}

/// An error with a message and an exit status chosen by the command.
struct CommandFailure: Error {
    static let dataOrModel: Int32 = 1
    static let usage: Int32 = 2

    let message: String
    let exitCode: Int32

    static func usage(_ message: String) -> CommandFailure { CommandFailure(message: message, exitCode: usage) }
    static func failed(_ message: String) -> CommandFailure { CommandFailure(message: message, exitCode: dataOrModel) }
    /// A failure the command has printed itself: exit 1 without another word.
    static let alreadyReported = CommandFailure(message: "", exitCode: dataOrModel)
}
