import Foundation
import NNBackends
import NNConformance
import NNCore
import NNNative
import XCTest

/// The extension point as a backend outside SwiftNN uses it: register, be selected by name, pass
/// NNConformance; and the registry's rules and `auto` policy.
final class BackendRegistryTests: XCTestCase {
    private static func wrappedRegistration(name: String = "wrapped-native", breakGemm: Bool = false,
                                            isAccelerator: Bool = false) -> BackendRegistration {
        BackendRegistration(name: name, summary: "the native backend behind its own name (a test double)",
                            isAccelerator: isAccelerator,
                            factory: { _ in WrappedNativeBackend(name: name, breakGemm: breakGemm) })
    }

    private final class LogSink: @unchecked Sendable {
        var lines: [String] = []
        func write(_ line: String) { lines.append(line) }
    }

    func testToyBackendRegistersAndIsFoundByName() throws {
        let registry = BackendRegistry.shared
        try registry.register(Self.wrappedRegistration())
        defer { registry.unregister("wrapped-native") }
        XCTAssertEqual(registry.names, ["opencl", "native", "wrapped-native"])
        let log = LogSink()
        let explicit = try BackendSelection.make(BackendRequest("Wrapped-Native"), environment: [:], log: log.write)
        XCTAssertEqual(explicit.name, "wrapped-native")
        let fromEnvironment = try BackendSelection.make(environment: ["NN_BACKEND": "wrapped-native"], log: log.write)
        XCTAssert(fromEnvironment is WrappedNativeBackend, "NN_BACKEND=wrapped-native gave \(type(of: fromEnvironment))")
        XCTAssertEqual(log.lines, [], "a named backend is never a fallback")
        // It computes through the validated entry points: a 1×1 product.
        let a = try explicit.makeTensor([Float(3)], shape: .scalar), b = try explicit.makeTensor([Float(4)], shape: .scalar)
        let c = try explicit.makeTensor(.scalar)
        try explicit.gemm(a, transposeA: false, b, transposeB: false, into: c, alpha: 0.5, beta: 0)
        XCTAssertEqual(try explicit.download(c), [6])
        XCTAssert(BackendSelection.deviceReport(environment: [:]).description.contains("wrapped-native: the native backend"))
    }

    func testToyBackendPassesTheWholeConformanceSuite() {
        for precision in Precision.allCases {
            let backend = WrappedNativeBackend(precision: precision)
            // Peers: plain native tensors must be refused by the wrapper (same storage type inside, other name).
            let peers = [ConformancePeer(label: "native", backend: NativeBackend(precision: .float32, threads: 2))]
            let results = ConformanceSuite(backend: backend, label: "wrapped-native-\(precision)", peers: peers).run()
            XCTAssertEqual(results.count, ConformanceSuite.cases.count)
            for result in results where !result.passed {
                XCTFail("\(result.caseID): \(result.failures.joined(separator: "\n"))")
            }
        }
    }

    /// A wrong backend fails, and the message names the op, the element, got vs expected and the bound.
    func testBrokenBackendFailsWithReadableMessages() throws {
        let suite = ConformanceSuite(backend: WrappedNativeBackend(breakGemm: true))
        let results = suite.run(ConformanceSuite.cases(in: .algebra))
        let failed = results.filter { !$0.passed }
        XCTAssertFalse(failed.isEmpty, "a gemm that ignores α passed the algebra cases")
        XCTAssert(failed.allSatisfy { $0.caseID.hasPrefix("algebra/gemm") }, "only gemm is broken: \(failed.map(\.caseID))")
        let message = try XCTUnwrap(failed.first?.failures.first)
        for part in ["[wrapped-native]", "gemm m=", "worst at [", "got ", "expected ", "allowed "] {
            XCTAssert(message.contains(part), "'\(part)' missing from: \(message)")
        }
    }

    /// Bad input is refused by the entry points before a hook runs, for a backend that validates nothing itself.
    func testEntryPointsValidateBeforeTheHook() throws {
        let backend = WrappedNativeBackend()
        let a = try backend.makeTensor(Shape(2, 3)), c = try backend.makeTensor(Shape(2, 2))
        XCTAssertThrowsError(try backend.gemm(a, transposeA: false, a, transposeB: false, into: c, alpha: 1, beta: 0)) { error in
            guard case let NNError.shapeMismatch(op, detail) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(op, "gemm")
            XCTAssert(detail.contains("inner dimensions 3 and 2 differ"), detail)
        }
        let native = try NativeBackend(precision: .float32, threads: 1).makeTensor(Shape(2, 3))
        XCTAssertThrowsError(try backend.copy(native, to: a)) { error in
            XCTAssertEqual(error as? NNError, .foreignTensor(op: "copy", expected: "wrapped-native", found: "native"))
        }
    }

    func testDeviceCheckPassesAndFails() throws {
        let registry = BackendRegistry(builtIns: false)
        try registry.register(Self.wrappedRegistration(name: "good"))
        try registry.register(Self.wrappedRegistration(name: "broken", breakGemm: true))
        var lines: [String] = []
        let cases = ConformanceSuite.cases(in: .algebra)
        let good = try DeviceCheck.run(names: ["good"], registry: registry, environment: [:], cases: cases) { lines.append($0) }
        XCTAssert(good.passed, lines.joined(separator: "\n"))
        XCTAssert(lines.contains { $0.hasPrefix("good: \(cases.count) of \(cases.count) cases passed") }, lines.joined(separator: "\n"))
        lines = []
        let both = try DeviceCheck.run(registry: registry, environment: [:], cases: cases) { lines.append($0) }
        XCTAssertFalse(both.passed)
        XCTAssertEqual(both.devices.map(\.label), ["good", "broken"])
        XCTAssertEqual(both.devices.map(\.passed), [true, false])
        XCTAssert(lines.contains { $0.contains("FAILED  algebra/gemm") }, lines.joined(separator: "\n"))
        XCTAssertEqual(lines.last, "conformance: FAILED — broken")

        // A backend without devices is passed over when not named, and fails the check when named.
        try registry.register(BackendRegistration(
            name: "absent", summary: "no hardware here", factory: { _ in WrappedNativeBackend(name: "absent") },
            devices: { _ in throw NNError.backendUnavailable(backend: "absent", reason: "no driver installed") }))
        lines = []
        let unnamed = try DeviceCheck.run(names: ["good", "absent"], registry: registry, environment: [:], cases: []) { lines.append($0) }
        XCTAssertFalse(unnamed.passed, "a named backend without a device must fail: \(lines)")
        XCTAssert(lines.contains { $0.hasPrefix("absent: no device to check (") && $0.contains("no driver installed") }, "\(lines)")
        registry.unregister("broken")
        let all = try DeviceCheck.run(registry: registry, environment: [:], cases: []) { _ in }
        XCTAssert(all.passed, "an unnamed backend without devices is reported, not failed")
        XCTAssertEqual(all.noDevices.map(\.backend), ["absent"])
    }

    func testRegistryRefusesBadNamesAndListsChoices() throws {
        let registry = BackendRegistry()
        for name in ["", "auto", "Has Space", "UPPER"] {
            XCTAssertThrowsError(try registry.register(Self.wrappedRegistration(name: name)), "'\(name)'")
        }
        XCTAssertThrowsError(try registry.register(Self.wrappedRegistration(name: "native"))) { error in
            XCTAssert("\(error)".contains("already registered"), "\(error)")
        }
        XCTAssertThrowsError(try registry.request(parsing: "cuda")) { error in
            guard case let NNError.invalidArgument(_, detail) = error else { return XCTFail("got \(error)") }
            XCTAssert(detail.contains("unknown backend 'cuda'; choose one of opencl, native, auto"), detail)
        }
        try registry.register(Self.wrappedRegistration(name: "cuda"))
        XCTAssertEqual(try registry.request(parsing: " CUDA "), BackendRequest("cuda"))
        XCTAssertTrue(registry.unregister("cuda"))
        XCTAssertFalse(registry.unregister("cuda"))
    }

    /// `auto` tries accelerators in registration order and falls back to native with one line naming each failure.
    func testAutoTriesAcceleratorsInOrder() throws {
        let registry = BackendRegistry(builtIns: false)
        try registry.register(BackendRegistration(
            name: "dead", summary: "an accelerator that never works", displayName: "Dead", isAccelerator: true,
            factory: { _ in throw NNError.backendUnavailable(backend: "dead", reason: "no such hardware") }))
        try registry.register(Self.wrappedRegistration(name: "native"))
        let log = LogSink()
        let fallback = try BackendSelection.make(.auto, environment: [:], registry: registry, log: log.write)
        XCTAssertEqual(fallback.name, "native")
        XCTAssertEqual(log.lines.count, 1, "\(log.lines)")
        XCTAssert(log.lines[0].hasPrefix("nn: no usable Dead device ("), log.lines[0])
        XCTAssert(log.lines[0].contains("no such hardware"), log.lines[0])

        try registry.register(Self.wrappedRegistration(name: "fast", isAccelerator: true))
        let picked = try BackendSelection.make(.auto, environment: [:], registry: registry, log: log.write)
        XCTAssertEqual(picked.name, "fast", "the first working accelerator wins")
        XCTAssertEqual(log.lines.count, 1, "a working accelerator is picked quietly")
        XCTAssertEqual(BackendSelection.deviceReport(environment: [:], registry: registry).autoChoice, BackendRequest("fast"))
    }
}
