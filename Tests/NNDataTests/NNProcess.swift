import Foundation
import XCTest

/// Runs the built `nn` executable as a child process on the native backend, with stdout and stderr
/// going to files (a chatty child can never block on a full pipe).
struct NNProcess {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Thrown (so a test fails, never skips) when the binary under test was not built.
    struct MissingBinary: Error, CustomStringConvertible {
        let directory: String
        var description: String { "the nn executable is not in \(directory); build it with `swift build --product nn` before testing" }
    }

    let process: Process
    private let outPath: String
    private let errPath: String
    private let handles: [FileHandle]

    /// The `nn` executable next to this test bundle (both are products of the same build).
    static func binary() throws -> String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [products, Bundle.main.bundleURL, products.deletingLastPathComponent()] {
            let candidate = directory.appendingPathComponent("nn").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw MissingBinary(directory: products.path)
    }

    /// Starts `nn arguments…`; its output files live in `scratch`.
    static func start(_ arguments: [String], scratch: TemporaryDirectory, environment extra: [String: String] = [:]) throws -> NNProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary())
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NN_BACKEND"] = "native"
        environment.merge(extra) { _, given in given }
        process.environment = environment
        // A run without --out writes into ./runs: keep that inside the scratch folder.
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        let id = UUID().uuidString
        let outPath = scratch.file("stdout-\(id)"), errPath = scratch.file("stderr-\(id)")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return NNProcess(process: process, outPath: outPath, errPath: errPath, handles: [out, err])
    }

    /// Runs `nn arguments…` to completion.
    static func run(_ arguments: [String], scratch: TemporaryDirectory, environment: [String: String] = [:]) throws -> Result {
        try start(arguments, scratch: scratch, environment: environment).wait()
    }

    func wait() throws -> Result {
        process.waitUntilExit()
        for handle in handles { try? handle.close() }
        return Result(status: process.terminationStatus,
                      stdout: try String(contentsOfFile: outPath, encoding: .utf8),
                      stderr: try String(contentsOfFile: errPath, encoding: .utf8))
    }
}

extension NNProcess {
    /// Runs `nn arguments…` and fails the test unless it exits 0.
    @discardableResult
    static func succeed(_ arguments: [String], scratch: TemporaryDirectory, environment: [String: String] = [:],
                        file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let r = try run(arguments, scratch: scratch, environment: environment)
        XCTAssertEqual(r.status, 0, "nn \(arguments.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r
    }

    /// Runs `nn arguments…` and fails the test unless it exits with `status`, says every one of
    /// `fragments` on stderr, and does not trap.
    static func assertFails(_ arguments: [String], status: Int32, mentioning fragments: [String], scratch: TemporaryDirectory,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(arguments, scratch: scratch)
        XCTAssertEqual(r.status, status, "nn \(arguments.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        for fragment in fragments where !r.stderr.contains(fragment) {
            XCTFail("stderr \"\(r.stderr)\" does not mention \"\(fragment)\"", file: file, line: line)
        }
        XCTAssertFalse(r.stderr.contains("Fatal error"), "must never trap", file: file, line: line)
    }
}
