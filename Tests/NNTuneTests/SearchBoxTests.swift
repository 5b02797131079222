import Foundation
import XCTest
@testable import NNTune

final class SearchBoxTests: XCTestCase {
    private let space: SearchSpace = {
        do {
            return try SearchSpace([
                "lr": .logUniform(low: 1e-5, high: 1), "momentum": .oneMinusLogUniform(low: 0.8, high: 0.999),
                "depth": .integer(low: 1, high: 6), "batch": .choice([.integer(32), .integer(64), .integer(128), .integer(256)]),
            ])
        } catch {
            fatalError("test space is invalid: \(error)")
        }
    }()

    /// A smooth synthetic objective peaking at lr = 3e-3, β = 0.95, depth 4, batch 64.
    private func objective(_ a: Assignment) -> Double {
        let lr = log10(a["lr"]?.numericValue ?? 1) - log10(3e-3)
        let beta = log10(1 - (a["momentum"]?.numericValue ?? 0)) - log10(0.05)
        let depth = (a["depth"]?.numericValue ?? 0) - 4
        let batch = a["batch"]?.numericValue == 64 ? 0.0 : 0.2
        return -(lr * lr + beta * beta + 0.1 * depth * depth + batch)
    }

    func testShrinkingKeepsTheBestTrialInsideAndNarrowsTheBox() throws {
        var box = space.fullBox
        var bestSoFar: (Assignment, Double)?
        for round in 0..<4 {
            let trials = RandomSampler(seed: 99).assignments(round: round, count: 30, box: box, space: space)
            for t in trials { XCTAssertTrue(box.contains(t, in: space), "round \(round) drew \(t) outside its box \(box)") }
            let scored = trials.map { (assignment: $0, objective: objective($0)) }
            let best = try XCTUnwrap(scored.max { $0.objective < $1.objective })
            if bestSoFar.map({ best.objective > $0.1 }) ?? true { bestSoFar = (best.assignment, best.objective) }
            let next = box.shrunk(around: scored, in: space, keepFraction: 0.25)
            XCTAssertTrue(next.contains(best.assignment, in: space), "round \(round): best trial \(best.assignment) left the box \(next)")
            guard case let .interval(lo, hi) = box.bounds(of: "lr"), case let .interval(nlo, nhi) = next.bounds(of: "lr") else {
                return XCTFail("lr should have interval bounds")
            }
            XCTAssertGreaterThanOrEqual(nlo, lo - 1e-12)
            XCTAssertLessThanOrEqual(nhi, hi + 1e-12)
            XCTAssertLessThan(nhi - nlo, hi - lo, "round \(round): the lr interval did not shrink")
            box = next
        }
        // After four rounds the log-space lr interval brackets the optimum's neighbourhood.
        guard case let .interval(lo, hi) = box.bounds(of: "lr") else { return XCTFail("lr bounds") }
        XCTAssertLessThan(hi - lo, 5.0 * 0.5, "four rounds should have narrowed lr's five decades to under half")
        XCTAssertTrue(lo <= log10(3e-3) + 0.5 && hi >= log10(3e-3) - 0.5, "box [\(lo), \(hi)] strayed from the optimum")
    }

    func testShrinkingWorksInLogSpaceAndKeepsOnlyTheBestOptions() throws {
        let trials: [(assignment: Assignment, objective: Double)] = [
            (["lr": .real(1e-3), "momentum": .real(0.9), "depth": .integer(2), "batch": .integer(64)], 0.9),
            (["lr": .real(1e-2), "momentum": .real(0.99), "depth": .integer(3), "batch": .integer(128)], 0.8),
            (["lr": .real(1e-5), "momentum": .real(0.8), "depth": .integer(6), "batch": .integer(32)], 0.1),
            (["lr": .real(0.9), "momentum": .real(0.8), "depth": .integer(1), "batch": .integer(256)], 0.2),
        ]
        let next = space.fullBox.shrunk(around: trials, in: space, keepFraction: 0.5)
        // Best two lrs are 1e-3 and 1e-2: coordinates −3 and −2, widened by 10 % of the 5-decade width.
        XCTAssertEqual(next.bounds(of: "lr"), .interval(low: -3.5, high: -1.5))
        XCTAssertEqual(next.bounds(of: "batch"), .options([1, 2]))
        XCTAssertEqual(next.bounds(of: "depth"), .interval(low: 1, high: 4))
        for t in trials.prefix(2) { XCTAssertTrue(next.contains(t.assignment, in: space)) }
        XCTAssertFalse(next.contains(trials[2].assignment, in: space))
    }

    func testGridEnumeratesEveryCombination() throws {
        let space = try SearchSpace(["lr": .logUniform(low: 1e-4, high: 1), "batch": .choice([.integer(32), .integer(64)])])
        let grid = GridSampler(points: 5)
        let points = grid.assignments(box: space.fullBox, space: space)
        XCTAssertEqual(points.count, 10)
        XCTAssertEqual(grid.count(box: space.fullBox, space: space), 10)
        let lrs = Set(points.compactMap { $0["lr"]?.numericValue }.map { log10($0).rounded() })
        XCTAssertEqual(lrs, [-4, -3, -2, -1, 0], "grid values are evenly spaced in log space")
    }
}
