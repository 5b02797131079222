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

    func testCasesSelectsByFamilyIdOrNameAndVerboseListsEachCase() throws {
        let selectors = ["dropout", "algebra/reduce", "backwardReLU"]
        let chosen = try ConformanceSuite.cases(matching: selectors + ["dropout"])
        XCTAssertEqual(chosen.map(\.id), ConformanceSuite.cases.map(\.id).filter {
            $0.hasPrefix("dropout/") || $0 == "algebra/reduce" || $0 == "batch-norm/backwardReLU"
        }, "suite order, each case once")
        let (status, output) = try run(["devices", "--check", "--backend", "native", "--cases", selectors.joined(separator: ","), "--verbose"])
        XCTAssertEqual(status, 0, output)
        XCTAssert(output.contains("native: running \(chosen.count) conformance cases"), output)
        XCTAssert(output.contains("native: \(chosen.count) of \(chosen.count) cases passed"), output)
        for c in chosen { XCTAssert(output.contains("ok      \(c.id) on native ("), "verbose lists \(c.id): \(output)") }
        XCTAssertFalse(output.contains("batch-norm/forwardTraining"), output)

        let (badStatus, badOutput) = try run(["devices", "--check", "--cases", "algebra,softmax"])
        XCTAssertNotEqual(badStatus, 0, badOutput)
        XCTAssert(badOutput.contains("'softmax' names no case; give a family (algebra, elementwise, batch-norm"), badOutput)
        let (unchecked, uncheckedOutput) = try run(["devices", "--cases", "algebra"])
        XCTAssertNotEqual(unchecked, 0, uncheckedOutput)
        XCTAssert(uncheckedOutput.contains("--cases and --verbose apply to --check"), uncheckedOutput)
    }

    func testUnknownBackendFailsListingTheRegisteredOnes() throws {
        let (status, output) = try run(["devices", "--check", "--backend", "cuda"])
        XCTAssertNotEqual(status, 0, output)
        XCTAssert(output.contains("unknown backend 'cuda'; choose one of opencl, native, auto"), output)
    }
}
