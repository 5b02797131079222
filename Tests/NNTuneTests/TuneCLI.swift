import Foundation
import XCTest
import NNTune
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `nn` as a child process, for tests of `nn tune run` as a user runs it (locks,
/// signals, validation before anything is created). Output goes to files, so a chatty child never
/// blocks on a full pipe.
struct TuneCLI {
    let process: Process
    let stdoutPath: String
    let stderrPath: String

    /// The `nn` executable next to this test bundle (both are products of the same build).
    static func binary() throws -> String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [products, Bundle.main.bundleURL, products.deletingLastPathComponent()] {
            let candidate = directory.appendingPathComponent("nn").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TuneError.workerLaunch(executable: "nn", detail: "not built in \(products.path); run `swift build --product nn` first")
    }

    /// Starts `nn arguments…` in `directory` (its output files go there too, named by `label`).
    static func start(_ arguments: [String], in directory: URL, label: String,
                      environment extra: [String: String] = [:]) throws -> TuneCLI {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary())
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["NN_BACKEND": "native"].merging(extra) { $1 }) { $1 }
        process.currentDirectoryURL = directory
        let out = directory.appendingPathComponent("\(label).stdout").path
        let err = directory.appendingPathComponent("\(label).stderr").path
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return TuneCLI(process: process, stdoutPath: out, stderrPath: err)
    }

    /// Runs `nn arguments…` to completion (killing it after `timeout` seconds, which fails the test).
    @discardableResult
    static func run(_ arguments: [String], in directory: URL, label: String, timeout: TimeInterval = 60,
                    environment: [String: String] = [:]) throws -> TuneCLI {
        let cli = try start(arguments, in: directory, label: label, environment: environment)
        cli.wait(timeout: timeout)
        return cli
    }

    var pid: pid_t { process.processIdentifier }
    var status: Int32 { process.terminationStatus }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the process to end; after `timeout` it is killed and the test fails.
    func wait(timeout: TimeInterval = 60, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(pid, SIGKILL)
            XCTFail("nn \((process.arguments ?? []).joined(separator: " ")) still ran after \(timeout) s", file: file, line: line)
        }
        process.waitUntilExit()
    }
}

/// Processes whose arguments mention `directory`: a study's workers, found the way `ps` would.
/// A zombie's command line is empty, so a dead but unreaped process does not count.
func processes(mentioning directory: URL) -> [pid_t] {
    let own = getpid()
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { pid_t($0) }.filter { pid in
        guard pid != own, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return String(decoding: data, as: UTF8.self).contains(directory.path + "/")
    }
}
