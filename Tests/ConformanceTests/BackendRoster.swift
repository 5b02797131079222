import Foundation
import NNConformance
import NNCore
import NNNative
import NNOpenCL
import XCTest

/// One backend configuration the conformance suite runs every case on.
struct BackendUnderTest: Sendable {
    /// Shown in every failure message: "native", "native-float64", "opencl".
    let label: String
    let backend: any Backend
}

/// The backends under test, built once per process (building the OpenCL program costs seconds).
///
/// Availability policy, so that a machine without OpenCL never passes silently:
/// - OpenCL constructs: it is tested like any other backend.
/// - It does not, and `CI=true` or `NN_REQUIRE_OPENCL=1`: every conformance test fails with the reason.
/// - It does not, and `NN_SKIP_OPENCL=1` is set explicitly: the native backends are tested, and
///   `testOpenCLBackendIsAvailable` is reported as skipped with the reason.
/// - It does not, and neither is set: every conformance test fails with the reason and the fix.
struct BackendRoster: Sendable {
    let backends: [BackendUnderTest]
    /// Why OpenCL could not be constructed, nil when it could.
    let openCLProblem: String?
    /// Whether the environment explicitly allows running without OpenCL.
    let openCLMayBeSkipped: Bool

    static let shared = BackendRoster(environment: ProcessInfo.processInfo.environment)

    init(environment: [String: String]) {
        var backends = [
            BackendUnderTest(label: "native", backend: NativeBackend(precision: .float32)),
            BackendUnderTest(label: "native-float64", backend: NativeBackend(precision: .float64)),
        ]
        var problem: String?
        do {
            backends.append(BackendUnderTest(label: "opencl", backend: try OpenCLBackend(deviceSelector: nil)))
        } catch {
            problem = "\(error)"
        }
        self.backends = backends
        openCLProblem = problem
        let truthy: (String?) -> Bool = { ["1", "true", "yes"].contains(($0 ?? "").lowercased()) }
        let required = truthy(environment["CI"]) || truthy(environment["NN_REQUIRE_OPENCL"])
        openCLMayBeSkipped = !required && truthy(environment["NN_SKIP_OPENCL"])
    }

    /// The message a test reports when OpenCL is missing.
    var openCLFailureMessage: String? {
        guard let problem = openCLProblem else { return nil }
        return "opencl: the OpenCL backend could not be constructed: \(problem) — "
            + "if this machine has no OpenCL driver, install one (pocl-opencl-icd on a CPU-only machine; `clinfo -l` "
            + "must list a device), or set NN_SKIP_OPENCL=1 to test the native backends alone "
            + "(not honoured when CI=true or NN_REQUIRE_OPENCL=1)."
    }

    func backend(labelled label: String) -> BackendUnderTest? {
        backends.first { $0.label == label }
    }
}

extension XCTestCase {
    /// Runs the NNConformance cases of `family` on every backend under test, each beside the others
    /// as peers (for the foreign-tensor and identical-mask cases). Every failure is reported with its
    /// case and backend; one backend's failure never hides another's result. A missing OpenCL fails
    /// the test (never a skip into green) unless NN_SKIP_OPENCL=1 allows it.
    func runConformance(_ family: ConformanceFamily, file: StaticString = #filePath, line: UInt = #line) {
        let roster = BackendRoster.shared
        if let message = roster.openCLFailureMessage, !roster.openCLMayBeSkipped {
            XCTFail(message, file: file, line: line)
        }
        let cases = ConformanceSuite.cases(in: family)
        XCTAssertFalse(cases.isEmpty, "no conformance cases in family \(family)", file: file, line: line)
        for b in roster.backends {
            let peers = roster.backends.filter { $0.label != b.label }.map { ConformancePeer(label: $0.label, backend: $0.backend) }
            let suite = ConformanceSuite(backend: b.backend, label: b.label, peers: peers)
            for result in suite.run(cases) {
                for failure in result.failures {
                    XCTFail("\(result.caseID): \(failure)", file: file, line: line)
                }
                // One line per case and backend, so the log shows each ran everywhere, not only that it passed.
                print("    conformance \(result.caseID) on \(b.label): \(result.passed ? "ok" : "FAILED")")
            }
        }
    }
}

/// What `open` returns, for a test that opens an OpenCL device of its own: when `open` throws, the
/// test fails naming why, or is skipped when NN_SKIP_OPENCL=1 says so (never silently).
func openCLOrSkip<T>(_ open: () throws -> T) throws -> T {
    do {
        return try open()
    } catch {
        if ProcessInfo.processInfo.environment["NN_SKIP_OPENCL"] == "1" {
            throw XCTSkip("OpenCL unavailable and NN_SKIP_OPENCL=1: \(error)")
        }
        XCTFail("OpenCL backend unavailable: \(error)")
        throw error
    }
}

/// The one place a missing OpenCL device is reported as a skip rather than a failure, and only
/// when NN_SKIP_OPENCL=1 says so.
final class BackendAvailabilityTests: XCTestCase {
    func testOpenCLBackendIsAvailable() throws {
        let roster = BackendRoster.shared
        guard let message = roster.openCLFailureMessage else {
            let opencl = try XCTUnwrap(roster.backend(labelled: "opencl"))
            XCTAssertEqual(opencl.backend.name, "opencl")
            XCTAssertEqual(opencl.backend.precision, .float32)
            XCTAssertFalse(opencl.backend.deviceDescription.isEmpty, "opencl: the device description must name the device")
            return
        }
        if roster.openCLMayBeSkipped {
            throw XCTSkip("NN_SKIP_OPENCL=1: \(message)")
        }
        XCTFail(message)
    }

    func testNativeBackendsIdentifyThemselves() throws {
        let roster = BackendRoster.shared
        let native = try XCTUnwrap(roster.backend(labelled: "native"))
        let double = try XCTUnwrap(roster.backend(labelled: "native-float64"))
        XCTAssertEqual(native.backend.name, "native")
        XCTAssertEqual(native.backend.precision, .float32)
        XCTAssertEqual(double.backend.name, "native")
        XCTAssertEqual(double.backend.precision, .float64)
    }
}
