import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `nn dashboard`: hands over to the `nn-dashboard` executable beside this one, which holds the HTTP
/// server, so that `nn` itself does not link one.
struct DashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Watch runs and studies live in the browser (nn dashboard [--root runs] [--host 127.0.0.1] [--port 8080] [--storage URL]).",
        discussion: "Runs the nn-dashboard executable built beside nn; see nn-dashboard --help.")

    @Argument(parsing: .allUnrecognized, help: "Options for nn-dashboard: --root DIR, --host ADDRESS, --port N, --storage URL.")
    var arguments: [String] = []

    func run() throws {
        let here = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let executable = ((here as NSString).deletingLastPathComponent as NSString).appendingPathComponent("nn-dashboard")
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw CommandFailure.failed("\(executable) is missing; build it with swift build --product nn-dashboard (it is built with nn), "
                                        + "or make the bundle with scripts/bundle.sh --with-dashboard")
        }
        let argv = [executable] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        execv(executable, &cArguments)
        throw CommandFailure.failed("cannot start \(executable): \(String(cString: strerror(errno)))")
    }
}
