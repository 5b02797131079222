import Foundation
import NNConformance
import NNCore

/// `nn devices --check`: the NNConformance suite on every device of every registered backend (or of
/// the backends named), so a user without Swift can verify a GPU with the release binary.
public enum DeviceCheck {
    /// One device's outcome.
    public struct DeviceResult: Sendable {
        public let backend: String
        public let label: String
        /// Set when the device could not be constructed; then there are no case results.
        public let constructionError: String?
        public let results: [ConformanceResult]

        public var passed: Bool { constructionError == nil && results.allSatisfy(\.passed) }
        public var failedCount: Int { results.filter { !$0.passed }.count }
    }

    /// A backend that offered no device to check, and why.
    public struct NoDevice: Sendable {
        public let backend: String
        public let reason: String
        /// Named with `--backend`: then having no device fails the check.
        public let requested: Bool
    }

    /// The whole run's outcome.
    public struct Report: Sendable {
        public let devices: [DeviceResult]
        public let noDevices: [NoDevice]

        /// Something was checked, every checked device passed, and every named backend had a device.
        public var passed: Bool {
            !devices.isEmpty && devices.allSatisfy(\.passed) && !noDevices.contains { $0.requested }
        }
    }

    /// Runs the suite on each device and writes a per-device summary through `print`.
    ///
    /// - Parameters:
    ///   - names: the backends to check (each must be registered); empty means every registered one.
    ///     A named backend without devices fails the check; an unnamed one is reported and passed over,
    ///     so `nn devices --check` on a machine without OpenCL still verifies the native backend.
    ///   - registry: where the names are looked up.
    ///   - environment: the backends' settings (`NN_OPENCL_DEVICE`, …).
    ///   - cases: the cases to run, every case by default.
    ///   - verbose: report passed cases too (failures are always reported).
    ///   - print: receives the summary, a line at a time.
    public static func run(names: [String] = [], registry: BackendRegistry = .shared,
                           environment: [String: String] = ProcessInfo.processInfo.environment,
                           cases: [ConformanceCase] = ConformanceSuite.cases, verbose: Bool = false,
                           print: (String) -> Void) throws -> Report {
        let registrations: [BackendRegistration]
        if names.isEmpty {
            registrations = registry.registrations
        } else {
            registrations = try names.map { name in
                let request = try registry.request(parsing: name)
                guard let registration = registry.registration(named: request.name) else {
                    throw NNError.invalidArgument(
                        op: "nn devices --check",
                        detail: "'auto' is a selection policy, not a backend; name one of \(registry.names.joined(separator: ", "))")
                }
                return registration
            }
        }
        var devices: [DeviceResult] = []
        var noDevices: [NoDevice] = []
        for registration in registrations {
            var targets: [BackendTarget] = []
            var reason = "it offers no device here"
            do {
                targets = try registration.devices(environment)
            } catch {
                reason = "\(error)"
            }
            if targets.isEmpty {
                let missing = NoDevice(backend: registration.name, reason: reason, requested: !names.isEmpty)
                noDevices.append(missing)
                print("\(registration.name): no device to check (\(reason))\(missing.requested ? " — FAILED: it was asked for" : "")")
            }
            for target in targets {
                print("\(target.label): running \(cases.count) conformance case\(cases.count == 1 ? "" : "s")")
                let backend: any Backend
                do {
                    backend = try target.make()
                    // What exactly is verified: the GEMM tuning, kernel shapes or ISA the backend opened with.
                    print("  \(backend.deviceDescription)")
                } catch {
                    print("\(target.label): FAILED — could not construct the backend: \(error)")
                    devices.append(DeviceResult(backend: registration.name, label: target.label,
                                                constructionError: "\(error)", results: []))
                    continue
                }
                let suite = ConformanceSuite(backend: backend, label: target.label)
                let results = suite.run(cases) { result in
                    if !result.passed {
                        print("  " + result.description)
                    } else if verbose {
                        print("  " + result.description + String(format: " (%.2f s)", result.seconds))
                    }
                }
                let device = DeviceResult(backend: registration.name, label: target.label, constructionError: nil, results: results)
                let seconds = results.reduce(0) { $0 + $1.seconds }
                print("\(target.label): \(results.count - device.failedCount) of \(results.count) cases passed"
                      + (device.passed ? "" : ", \(device.failedCount) FAILED") + String(format: " (%.1f s)", seconds))
                devices.append(device)
            }
        }
        let report = Report(devices: devices, noDevices: noDevices)
        if devices.isEmpty {
            print("no device was checked")
        }
        var problems = devices.filter { !$0.passed }.map(\.label)
        problems += noDevices.filter(\.requested).map { "\($0.backend) (no device)" }
        if devices.isEmpty { problems.append("nothing checked") }
        print(problems.isEmpty ? "conformance: every checked device passed"
                               : "conformance: FAILED — \(problems.joined(separator: ", "))")
        return report
    }
}
