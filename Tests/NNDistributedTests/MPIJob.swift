import Foundation
import XCTest

/// Runs the built `nn` under Open MPI's `mpirun` (or alone), on the native backend with one thread
/// per rank, output to files. A missing mpirun or nn is a thrown error: the test fails, never skips.
struct MPIJob {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    /// Flags every test launch needs: CI runs as root in a container with fewer cores than ranks.
    static let mpirunFlags = ["--allow-run-as-root", "--oversubscribe"]

    static func nn() throws -> String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [products, Bundle.main.bundleURL, products.deletingLastPathComponent()] {
            let candidate = directory.appendingPathComponent("nn").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Missing(description: "the nn executable is not in \(products.path); build it with `swift build --product nn`")
    }

    static func mpirun() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/mpirun"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Missing(description: "mpirun is not on PATH; install Open MPI with scripts/install-deps.sh (apt-get install openmpi-bin libopenmpi-dev)")
    }

    let process: Process
    let directory: URL
    private let outURL: URL
    private let errURL: URL

    /// Starts `executable arguments…` in `directory`.
    static func start(_ executable: String, _ arguments: [String], in directory: URL) throws -> MPIJob {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NN_BACKEND"] = "native"
        environment["NN_NATIVE_THREADS"] = "1"
        process.environment = environment
        process.currentDirectoryURL = directory
        let id = UUID().uuidString
        let outURL = directory.appendingPathComponent("stdout-\(id)"), errURL = directory.appendingPathComponent("stderr-\(id)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        return MPIJob(process: process, directory: directory, outURL: outURL, errURL: errURL)
    }

    /// `mpirun -np ranks nn train arguments…`.
    static func startTraining(ranks: Int, _ arguments: [String], in directory: URL, exporting variables: [String] = []) throws -> MPIJob {
        let exports = variables.flatMap { ["-x", $0] }
        return try start(try mpirun(), mpirunFlags + exports + ["-np", String(ranks), try nn(), "train"] + arguments, in: directory)
    }

    /// Waits at most `seconds`; a job still running then is killed and the test fails.
    func wait(seconds: Double, file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            XCTFail("still running after \(seconds) s: it hangs", file: file, line: line)
            process.terminate()
            process.waitUntilExit()
        }
        return Result(status: process.terminationStatus,
                      stdout: try String(contentsOf: outURL, encoding: .utf8),
                      stderr: try String(contentsOf: errURL, encoding: .utf8))
    }

    /// Process ids of the ranks this job's mpirun started (its children that carry a rank).
    func rankProcesses() -> [Int: Int32] {
        var ranks: [Int: Int32] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == process.processIdentifier,
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            for variable in environ.split(separator: 0) {
                let text = String(decoding: variable, as: UTF8.self)
                if text.hasPrefix("OMPI_COMM_WORLD_RANK="), let rank = Int(text.dropFirst("OMPI_COMM_WORLD_RANK=".count)) {
                    ranks[rank] = pid
                }
            }
        }
        return ranks
    }
}

/// A scratch folder removed when the test ends.
final class ScratchFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("nn-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// One line of metrics.jsonl.
struct EpochLine: Decodable {
    let epoch: Int
    let train_loss: Double
    let dev_accuracy: Double?
}

func readMetrics(_ folder: String) throws -> [EpochLine] {
    let text = try String(contentsOfFile: "\(folder)/metrics.jsonl", encoding: .utf8)
    return try text.split(separator: "\n").map { try JSONDecoder().decode(EpochLine.self, from: Data($0.utf8)) }
}

/// The `--json` summary line of a run.
func summary(_ stdout: String) throws -> [String: Any] {
    guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
          let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw MPIJob.Missing(description: "no JSON summary line in: \(stdout)")
    }
    return object
}
