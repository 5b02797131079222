import Foundation
import NNCore

/// The op families of `Backend`, plus the bad-input cases that cut across them.
public enum ConformanceFamily: String, Sendable, CaseIterable, CustomStringConvertible {
    case algebra, elementwise, batchNorm = "batch-norm", classifierHeads = "classifier-heads", dropout, optimizers
    /// Wrong shapes, empty and foreign tensors, out-of-range arguments: thrown errors, never traps.
    case badInput = "bad-input"

    public var description: String { rawValue }
}

/// One conformance check: an op (or a few related ops) on chosen inputs, compared against the
/// Float64 reference with a tolerance derived, next to the check, from the backend's unit roundoff.
public struct ConformanceCase: Sendable {
    public let family: ConformanceFamily
    public let name: String
    let body: @Sendable (ConformanceContext) throws -> Void

    init(_ family: ConformanceFamily, _ name: String, _ body: @escaping @Sendable (ConformanceContext) throws -> Void) {
        self.family = family
        self.name = name
        self.body = body
    }

    /// "family/name", unique in ``ConformanceSuite/cases``.
    public var id: String { "\(family)/\(name)" }
}

/// A backend the suite runs beside the one under test, for the cross-backend cases (tensors of
/// another backend are refused; every float32 backend draws the same dropout mask).
public struct ConformancePeer: Sendable {
    public let label: String
    public let backend: any Backend

    public init(label: String, backend: any Backend) {
        self.label = label
        self.backend = backend
    }
}

/// The outcome of one case on one backend.
public struct ConformanceResult: Sendable, CustomStringConvertible {
    public let caseID: String
    public let family: ConformanceFamily
    public let backendLabel: String
    /// Each names the op, the element, got vs expected and the tolerance (or the error expected and seen).
    public let failures: [String]
    public let seconds: Double

    public var passed: Bool { failures.isEmpty }

    public var description: String {
        passed ? "ok      \(caseID) on \(backendLabel)"
            : "FAILED  \(caseID) on \(backendLabel):\n" + failures.map { "          " + $0 }.joined(separator: "\n")
    }
}

/// What a case sees: the backend under test, its label and unit roundoff, its peers, and the
/// failures recorded so far. One context serves one case on one backend.
public final class ConformanceContext: @unchecked Sendable {
    /// Shown in every failure message: "native", "native-float64", "opencl", …
    public let label: String
    public let backend: any Backend
    public let peers: [ConformancePeer]
    private(set) var failures: [String] = []

    init(label: String, backend: any Backend, peers: [ConformancePeer]) {
        self.label = label
        self.backend = backend
        self.peers = peers
    }

    /// Unit roundoff u of the backend's arithmetic: 2⁻²⁴ for float32, 2⁻⁵³ for float64. Every
    /// tolerance in the suite is a multiple of it, so the float64 backend is held to a
    /// correspondingly tighter standard.
    var u: Double { backend.precision == .float64 ? 0x1p-53 : 0x1p-24 }

    func fail(_ message: String) { failures.append(message) }

    func expect(_ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String) {
        do {
            if try !condition() { fail(message()) }
        } catch {
            fail("\(message()): threw \(error)")
        }
    }

    func expectEqual<T: Equatable>(_ a: @autoclosure () throws -> T, _ b: @autoclosure () throws -> T,
                                   _ message: @autoclosure () -> String) {
        do {
            let (x, y) = (try a(), try b())
            if x != y { fail("\(message()): got \(x), expected \(y)") }
        } catch {
            fail("\(message()): threw \(error)")
        }
    }

    func expectNotEqual<T: Equatable>(_ a: @autoclosure () throws -> T, _ b: @autoclosure () throws -> T,
                                      _ message: @autoclosure () -> String) {
        do {
            if try a() == b() { fail(message()) }
        } catch {
            fail("\(message()): threw \(error)")
        }
    }

    func expectEqual(_ a: @autoclosure () throws -> Double, _ b: @autoclosure () throws -> Double, accuracy: Double,
                     _ message: @autoclosure () -> String) {
        do {
            let (x, y) = (try a(), try b())
            if !(abs(x - y) <= accuracy) { fail("\(message()): got \(x), expected \(y) ± \(accuracy)") }
        } catch {
            fail("\(message()): threw \(error)")
        }
    }
}

/// The op conformance suite: every op of `Backend`, gradients included, against a Float64
/// reference with stated tolerances, plus the bad-input cases. It needs nothing but NNCore, so a
/// backend in another package runs it from its own tests, and `nn devices --check` runs it from a
/// release binary.
///
/// ```swift
/// let results = ConformanceSuite(backend: MyBackend()).run()
/// XCTAssertEqual(results.filter { !$0.passed }.flatMap(\.failures), [])
/// ```
public struct ConformanceSuite: Sendable {
    /// Every case, grouped by family in the protocol's order.
    public static let cases: [ConformanceCase] =
        GemmCases.all + ReductionCases.all + ElementwiseCases.all + BatchNormCases.all
        + ClassifierHeadCases.all + DropoutCases.all + OptimizerCases.all + BadInputCases.all

    public static func cases(in family: ConformanceFamily) -> [ConformanceCase] {
        cases.filter { $0.family == family }
    }

    /// The cases `selectors` name, in suite order: each selector is a family ("algebra"), a case id
    /// ("algebra/reduce") or a case name ("reduce"), so a failing case can be rerun alone (a slow
    /// device or a simulator such as Oclgrind runs the whole suite for many minutes).
    ///
    /// - Throws: `NNError.invalidArgument` naming a selector that matches nothing, with the families.
    public static func cases(matching selectors: [String]) throws -> [ConformanceCase] {
        var chosen = Set<String>()
        for selector in selectors {
            let matches = cases.filter { $0.family.rawValue == selector || $0.id == selector || $0.name == selector }
            guard !matches.isEmpty else {
                throw NNError.invalidArgument(
                    op: "conformance cases",
                    detail: "'\(selector)' names no case; give a family (\(ConformanceFamily.allCases.map(\.rawValue).joined(separator: ", "))), "
                        + "a case id such as \(cases[0].id), or a case name")
            }
            chosen.formUnion(matches.map(\.id))
        }
        return cases.filter { chosen.contains($0.id) }
    }

    public let backend: any Backend
    public let label: String
    public let peers: [ConformancePeer]

    /// - Parameters:
    ///   - backend: the backend under test.
    ///   - label: names the backend in results and messages; the backend's name by default.
    ///   - peers: other backends for the cross-backend cases (none: those cases check this backend alone).
    public init(backend: any Backend, label: String? = nil, peers: [ConformancePeer] = []) {
        self.backend = backend
        self.label = label ?? backend.name
        self.peers = peers
    }

    /// Runs one case. A thrown error is a failure naming the error; the case's other failures stay.
    public func run(_ conformanceCase: ConformanceCase) -> ConformanceResult {
        let context = ConformanceContext(label: label, backend: backend, peers: peers)
        let start = Date()
        do {
            try conformanceCase.body(context)
        } catch {
            context.fail("[\(label)] \(conformanceCase.id): unexpected error: \(error)")
        }
        return ConformanceResult(caseID: conformanceCase.id, family: conformanceCase.family, backendLabel: label,
                                 failures: context.failures, seconds: Date().timeIntervalSince(start))
    }

    /// Runs `cases` in order (every case by default), reporting each result as it comes.
    public func run(_ cases: [ConformanceCase] = ConformanceSuite.cases,
                    progress: (ConformanceResult) -> Void = { _ in }) -> [ConformanceResult] {
        cases.map { c in
            let result = run(c)
            progress(result)
            return result
        }
    }
}

/// Storage of a backend that exists only here, for the foreign-tensor cases: every backend must
/// refuse it by name before touching its memory (it has none).
final class ForeignStorage: TensorStorage {
    var backendName: String { "conformance-stand-in" }
}
