import Foundation
@testable import NNTune
import XCTest

/// The Gaussian-process sampler: determinism, bounds and scales, choices and integers, boxes,
/// failed trials and trials still running, the regression underneath, and that it does what it is
/// for: a better best trial than random draws and TPE at equal budget on a noisy synthetic objective.
final class GPSamplerTests: XCTestCase {
    private var space: SearchSpace!

    override func setUpWithError() throws {
        space = try SyntheticSearch.space()
    }

    private func search(_ sampler: GPSampler, count: Int, noise: Double = 0) -> [TrialObservation] {
        SyntheticSearch.run(count: count, noise: noise) { trial, history in
            sampler.assignment(round: 0, trial: trial, box: space.fullBox, space: space, history: history)
        }
    }

    func testSameHistoryAndSeedGiveTheSameDraw() {
        let history = search(GPSampler(seed: 4, startupTrials: 5), count: 12)
        let sampler = GPSampler(seed: 4, startupTrials: 5)
        let a = sampler.assignment(round: 0, trial: 12, box: space.fullBox, space: space, history: history)
        XCTAssertEqual(a, sampler.assignment(round: 0, trial: 12, box: space.fullBox, space: space, history: history))
        XCTAssertNotEqual(a, GPSampler(seed: 5, startupTrials: 5).assignment(round: 0, trial: 12, box: space.fullBox, space: space, history: history))
        XCTAssertEqual(search(GPSampler(seed: 4, startupTrials: 5), count: 12), history, "a whole search repeats")
    }

    func testStartupTrialsAreTheLatinHypercube() {
        let history = search(GPSampler(seed: 9, startupTrials: 10), count: 10)
        let design = (0..<10).map { RandomSampler(seed: 9).stratifiedAssignment(round: 0, trial: $0, of: 10, box: space.fullBox, space: space) }
        XCTAssertEqual(history.map(\.assignment), design)
    }

    /// Every draw respects its distribution (inside the bounds, integers whole, choices from the
    /// list), and the model works on the declared scales: after the start-up, draws gather within a
    /// decade of the best learning rate and take the best batch size most of the time.
    func testDrawsRespectBoundsScalesChoicesAndIntegers() {
        let history = search(GPSampler(seed: 2, startupTrials: 8), count: 40)
        for o in history {
            SyntheticSearch.assertInsideSpace(o.assignment)
        }
        let late = history.dropFirst(20)
        let rates = late.compactMap { $0.assignment["lr"]?.numericValue }
        // Random draws put 2 in 5 there (two of the range's five decades).
        XCTAssertGreaterThan(rates.filter { abs(log10($0) - log10(3e-3)) < 1 }.count, rates.count / 2, "\(rates)")
        XCTAssertGreaterThan(late.filter { $0.assignment["batch"] == .integer(64) }.count, late.count / 2)
        XCTAssertEqual(Set(history.map(\.assignment)).count, history.count, "no trial is drawn twice")
    }

    /// On the objective with a ±0.02 scatter per point, the best trial after 30 is better on average
    /// over five seeds than random draws' and TPE's (each search is deterministic, so this cannot
    /// flicker; the margins found are printed).
    func testGPBeatsRandomAndTPEAtEqualBudgetOnANoisyObjective() {
        var gp = 0.0, tpe = 0.0, random = 0.0
        let seeds = UInt64(1)...5
        for seed in seeds {
            gp += search(GPSampler(seed: seed), count: 30, noise: 0.02).map(\.objective).max() ?? 0
            let tpeSearch = SyntheticSearch.run(count: 30, noise: 0.02) { trial, history in
                TPESampler(seed: seed).assignment(round: 0, trial: trial, box: space.fullBox, space: space, history: history)
            }
            tpe += tpeSearch.map(\.objective).max() ?? 0
            random += RandomSampler(seed: seed).assignments(round: 0, count: 30, box: space.fullBox, space: space)
                .map { SyntheticSearch.objective($0, noise: 0.02) }.max() ?? 0
        }
        let n = Double(seeds.count)
        print("best of 30, mean of \(seeds.count) seeds: gp \(gp / n), tpe \(tpe / n), random \(random / n)")
        XCTAssertGreaterThan(gp / n, random / n)
        XCTAssertGreaterThan(gp / n, tpe / n)
    }

    /// A region where every trial fails (objective 0, as the runner records a crash) or diverges is
    /// avoided, and its zeros do not swamp the fit of the rest.
    func testFailedTrialsRepelDraws() {
        var history: [TrialObservation] = []
        let sampler = GPSampler(seed: 6, startupTrials: 10)
        for trial in 0..<30 {
            let a = sampler.assignment(round: 0, trial: trial, box: space.fullBox, space: space, history: history)
            let failed = (a["lr"]?.numericValue ?? 1) > 0.01
            history.append(.init(assignment: a, objective: failed ? 0 : SyntheticSearch.objective(a)))
        }
        let late = history.dropFirst(15).compactMap { $0.assignment["lr"]?.numericValue }
        XCTAssertGreaterThanOrEqual(late.filter { $0 <= 0.01 }.count, late.count - 2, "\(late)")
    }

    /// Trials still running count as bad, so a draw made beside a running one does not repeat it.
    func testPendingTrialsSpreadDrawsMadeTogether() {
        let history = search(GPSampler(seed: 3, startupTrials: 10), count: 20)
        let sampler = GPSampler(seed: 3, startupTrials: 10)
        let first = sampler.assignment(round: 0, trial: 20, box: space.fullBox, space: space, history: history)
        let alone = sampler.assignment(round: 0, trial: 21, box: space.fullBox, space: space, history: history)
        let beside = sampler.assignment(round: 0, trial: 21, box: space.fullBox, space: space, history: history, pending: [first])
        func distance(_ a: Assignment, _ b: Assignment) -> Double {
            let encoding = FeatureEncoding(space: space, box: space.fullBox)
            guard let x = encoding.features(of: a), let y = encoding.features(of: b) else { return -1 }
            return zip(x, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        }
        XCTAssertGreaterThan(distance(beside, first), distance(alone, first), "a pending trial pushes the next draw away")
    }

    /// Draws stay inside a coarse-to-fine box, including an interval narrowed to a point and a choice
    /// narrowed to one option.
    func testDrawsStayInTheBox() throws {
        let box = SearchBox(bounds: [
            .init(name: "lr", bounds: .interval(low: -3, high: -2)),
            .init(name: "hidden", bounds: .interval(low: 200, high: 200)),
            .init(name: "batch", bounds: .options([1])),
            .init(name: "beta1", bounds: .interval(low: -2.5, high: -1.5)),
        ])
        let sampler = GPSampler(seed: 8, startupTrials: 4)
        var history = search(GPSampler(seed: 8, startupTrials: 100), count: 12)  // earlier rounds' trials, outside the box
        for trial in 0..<12 {
            let a = sampler.assignment(round: 1, trial: trial, box: box, space: space, history: history)
            XCTAssertTrue(box.contains(a, in: space), "\(a)")
            XCTAssertEqual(a["hidden"], .integer(200))
            XCTAssertEqual(a["batch"], .integer(64))
            history.append(.init(assignment: a, objective: SyntheticSearch.objective(a)))
        }
    }

    /// The regression itself: with little noise the posterior mean passes through the data and its
    /// variance vanishes there; far from the data it returns to the prior (mean 0, variance 1); and the
    /// marginal likelihood prefers the length scale the data were drawn with.
    func testGaussianProcessInterpolatesAndFitsItsLengthScale() throws {
        let xs = stride(from: 0.0, through: 1.0, by: 0.1).map { [$0] }
        let ys = xs.map { sin(6 * $0[0]) }
        let p = try XCTUnwrap(GaussianProcess(points: xs, targets: ys, scaleOfColumn: [0],
                                              settings: .init(lengthScales: [0.3], noise: 1e-6)))
        for (x, y) in zip(xs, ys) {
            let (m, v) = p.predict(x)
            XCTAssertEqual(m, y, accuracy: 1e-3)  // noise 1e-6 relative to unit variance: a near-exact fit
            XCTAssertLessThan(v, 1e-3)
        }
        let far = p.predict([50])
        XCTAssertEqual(far.mean, 0, accuracy: 1e-9)
        XCTAssertEqual(far.variance, 1, accuracy: 1e-9)
        var generator = SplitMix64(seed: 1)
        let fitted = try XCTUnwrap(GaussianProcess.fitted(points: xs, targets: ys, scaleOfColumn: [0], scaleCount: 1, generator: &generator))
        let tooShort = try XCTUnwrap(GaussianProcess(points: xs, targets: ys, scaleOfColumn: [0], settings: .init(lengthScales: [0.03], noise: 1e-4)))
        XCTAssertGreaterThan(fitted.logMarginalLikelihood, tooShort.logMarginalLikelihood)
        XCTAssertTrue((0.1...1).contains(fitted.settings.lengthScales[0]), "\(fitted.settings)")
        // Two identical points are singular without jitter; the fit still succeeds.
        XCTAssertNotNil(GaussianProcess(points: [[0.5], [0.5]], targets: [1, 1], scaleOfColumn: [0], settings: .init(lengthScales: [0.3], noise: 1e-4)))
    }

    /// More finished trials than the model takes: it keeps the best half and the latest of the rest.
    func testLargeHistoriesKeepTheBestAndTheLatest() {
        let history = (0..<400).map { TrialObservation(assignment: ["lr": .real(Double($0))], objective: Double($0 % 100)) }
        let kept = GPSampler.selection(of: history)
        XCTAssertEqual(kept.count, GPSampler.maximumModelledTrials)
        XCTAssertTrue(kept.contains { $0.assignment["lr"] == .real(99) }, "a best trial is kept")
        XCTAssertTrue(kept.contains { $0.assignment["lr"] == .real(399) }, "the latest trial is kept")
    }
}
