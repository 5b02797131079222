// `nn-dashboard` (also started as `nn dashboard`): the web dashboard of the runs and studies under a
// folder. It is its own executable so that `nn` and the libraries do not depend on an HTTP server.
import ArgumentParser
import Foundation
import NNDashboard
import NNTune

@main
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nn dashboard",
        abstract: "Serve a read-only web dashboard of the training runs and tuning studies under a folder.",
        discussion: """
            Runs are folders that nn train wrote (metrics.jsonl, history.jsonl, …) anywhere under --root; studies are \
            the study.sqlite files of nn tune (by default under <root>/tune), and with --storage (or NN_TUNE_STORAGE \
            naming a PostgreSQL database) the studies that nn tune workers share there. Pages update while runs and \
            studies are written. It listens on 127.0.0.1 only unless --host says otherwise; over SSH, forward the \
            port: ssh -L 8080:localhost:8080 HOST.
            """)

    @Option(help: ArgumentHelp("Folder holding runs and studies.", valueName: "dir"))
    var root: String = "runs"

    @Option(help: ArgumentHelp("Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface).", valueName: "address"))
    var host: String = "127.0.0.1"

    @Option(help: ArgumentHelp("Port to listen on; 0 picks a free one.", valueName: "n"))
    var port: UInt16 = 8080

    @Option(help: ArgumentHelp("A PostgreSQL database (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE) whose nn tune studies to show "
                               + "as well; default: NN_TUNE_STORAGE when it names one.", valueName: "url"))
    var storage: String?

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--root \(root) is not a folder; give the folder your runs are in (nn train --out's parent)")
        }
    }

    /// The PostgreSQL store to list studies from: --storage, which must name one, else NN_TUNE_STORAGE
    /// when it does (a SQLite file there is one study's, for the nn tune commands; the dashboard finds
    /// SQLite studies by walking --root).
    private func sharedStudies() throws -> StudyStorage? {
        let resolved: StudyStorage
        do {
            resolved = try StudyStorage.resolve(option: storage)
        } catch {
            throw ValidationError("\(error)")
        }
        guard resolved.isShared else {
            if storage != nil {
                throw ValidationError("--storage \(resolved) is not a PostgreSQL URL; the SQLite studies are found under --root")
            }
            return nil
        }
        return resolved
    }

    func run() async throws {
        // SIGTERM and SIGINT end the process at once: the server holds no state worth a graceful close.
        signal(SIGTERM) { _ in _exit(0) }
        signal(SIGINT) { _ in _exit(0) }
        let shared = try sharedStudies()
        if let shared {
            // A wrong URL or password is reported now rather than on the page; a server that goes away
            // later is shown on the studies page.
            do {
                _ = try shared.studyNames()
            } catch {
                FileHandle.standardError.write(Data("nn dashboard: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        let server = DashboardServer(root: root, host: host, port: port, sharedStudies: shared)
        let root = self.root
        do {
            try await server.run { url in
                let also = shared.map { " and the studies in \($0)" } ?? ""
                FileHandle.standardOutput.write(Data("nn dashboard: serving \(root)\(also) on \(url)\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("nn dashboard: cannot serve on \(host):\(port): \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

