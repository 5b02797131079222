import Foundation
import NNConformance
import XCTest

/// `nn devices --check` as a user runs it: exit 0 when every checked device passes, non-zero and a
/// readable reason otherwise. (A failing case's exit is covered through `DeviceCheck` with a broken
/// toy backend in BackendRegistryTests; the binary maps `Report.passed == false` to exit 1.)
final class DevicesCheckCommandTests: XCTestCase {
    private func nnBinary() throws -> String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [products, Bundle.main.bundleURL, products.deletingLastPathComponent()] {
            let candidate = directory.appendingPathComponent("nn").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: products.appendingPathComponent("nn").path,
                                                      NSLocalizedDescriptionKey: "nn is not built next to the tests; run `swift build` first"])
    }

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try nnBinary())
        process.arguments = arguments
        let outputPath = NSTemporaryDirectory() + "nn-devices-check-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: outputPath))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    func testCheckOfNativePassesWithExitZero() throws {
        let (status, output) = try run(["devices", "--check", "--backend", "native"])
        XCTAssertEqual(status, 0, output)
        let n = ConformanceSuite.cases.count
        XCTAssert(output.contains("native: \(n) of \(n) cases passed"), output)
        XCTAssert(output.contains("native-float64: \(n) of \(n) cases passed"), "both precisions are checked: \(output)")
        XCTAssert(output.contains("conformance: every checked device passed"), output)
    }

    func testUnknownBackendFailsListingTheRegisteredOnes() throws {
        let (status, output) = try run(["devices", "--check", "--backend", "cuda"])
        XCTAssertNotEqual(status, 0, output)
        XCTAssert(output.contains("unknown backend 'cuda'; choose one of opencl, native, auto"), output)
    }
}
