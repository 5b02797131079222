import Foundation
import XCTest
@testable import NNTune

/// The search problem the sampler tests share: the four kinds of hyperparameter (a log-scale
/// rate, an integer, a choice, a 1 − β momentum) and a smooth objective with its peak at lr = 3e-3,
/// hidden = 300, batch 64, β₁ = 0.99.
enum SyntheticSearch {
    static func space() throws -> SearchSpace {
        try SearchSpace(["lr": .logUniform(low: 1e-5, high: 1), "hidden": .integer(low: 16, high: 512),
                         "batch": .choice([.integer(32), .integer(64), .integer(128)]),
                         "beta1": .oneMinusLogUniform(low: 0.8, high: 0.999)])
    }

    /// The objective at `a`, plus a scatter of ±`noise` fixed per point, like a trial's dev accuracy:
    /// the same assignment always scores the same, a neighbour a little differently.
    static func objective(_ a: Assignment, noise: Double = 0) -> Double {
        let lr = log10(a["lr"]?.numericValue ?? 1) - log10(3e-3)
        let hidden = ((a["hidden"]?.numericValue ?? 0) - 300) / 200
        let batch = a["batch"] == .integer(64) ? 0.0 : 0.5
        let beta = log10(1 - (a["beta1"]?.numericValue ?? 0)) - log10(0.01)
        let smooth = 1 - 0.1 * lr * lr - 0.05 * hidden * hidden - batch - 0.05 * beta * beta
        guard noise != 0 else { return smooth }
        var hash = SplitMix64(key: (a["lr"]?.numericValue ?? 0).bitPattern, (a["beta1"]?.numericValue ?? 0).bitPattern)
        return smooth + noise * (2 * hash.uniform() - 1)
    }

    /// `count` trials one after another, each drawn by `draw(trial, history)` seeing every earlier one.
    static func run(count: Int, noise: Double = 0, draw: (Int, [TrialObservation]) -> Assignment) -> [TrialObservation] {
        var history: [TrialObservation] = []
        for trial in 0..<count {
            let a = draw(trial, history)
            history.append(.init(assignment: a, objective: objective(a, noise: noise)))
        }
        return history
    }

    /// Fails unless `a` could come from ``space()``: every value inside its bounds, the hidden width
    /// a whole integer value, the batch one of the choices.
    static func assertInsideSpace(_ a: Assignment, file: StaticString = #filePath, line: UInt = #line) {
        let lr = a["lr"]?.numericValue ?? -1, hidden = a["hidden"]?.numericValue ?? -1
        let beta = a["beta1"]?.numericValue ?? -1
        XCTAssertTrue(lr >= 1e-5 && lr <= 1, "lr \(lr)", file: file, line: line)
        XCTAssertTrue(hidden >= 16 && hidden <= 512 && hidden == hidden.rounded(), "hidden \(hidden)", file: file, line: line)
        if case .integer = a["hidden"] {} else { XCTFail("hidden must be an integer value", file: file, line: line) }
        XCTAssertTrue([.integer(32), .integer(64), .integer(128)].contains(a["batch"] ?? .text("?")), file: file, line: line)
        XCTAssertTrue(beta >= 0.8 && beta <= 0.999, "beta1 \(beta)", file: file, line: line)
    }
}
