import Foundation
import XCTest
@testable import NNTune

final class DistributionTests: XCTestCase {
    /// Fraction of `values` in each [10^k, 10^(k+1)) for k in `decades`.
    private func decadeShares(_ values: [Double], decades: ClosedRange<Int>) -> [Double] {
        decades.map { k in
            Double(values.filter { $0 >= pow(10, Double(k)) && $0 < pow(10, Double(k + 1)) }.count) / Double(values.count)
        }
    }

    private func draws(_ distribution: Distribution, _ n: Int, seed: UInt64 = 7) throws -> [Double] {
        let space = try SearchSpace(["lr": distribution])
        let sampler = RandomSampler(seed: seed)
        return sampler.assignments(round: 0, count: n, box: space.fullBox, space: space).map { $0["lr"]?.numericValue ?? .nan }
    }

    func testLogUniformLearningRatesFallAQuarterPerDecade() throws {
        let values = try draws(.logUniform(low: 1e-4, high: 1), 1_000)
        XCTAssertTrue(values.allSatisfy { $0 >= 1e-4 && $0 <= 1 })
        // Each of the 4 decades expects 25 %. A decade's count is Binomial(1000, 0.25): σ = √(1000·0.25·0.75)/1000
        // ≈ 1.4 %, so ±5 points is about 3.6σ — a correct sampler fails with probability < 0.1 %, while a
        // sampler uniform in the value itself would put ~90 % in the top decade and fail at once.
        for (k, share) in zip(-4...(-1), decadeShares(values, decades: -4...(-1))) {
            XCTAssertEqual(share, 0.25, accuracy: 0.05, "decade [1e\(k), 1e\(k + 1)) got \(share)")
        }
    }

    /// The start-up design of ``GPSampler``: each hyperparameter's range in `count` slices on its own
    /// scale (decades for a log-uniform rate), every slice taken by exactly one of the first `count`
    /// trials, choices dealt out evenly, the order differing between seeds; later trials are random.
    func testLatinHypercubeTakesEverySliceOnce() throws {
        let space = try SearchSpace(["lr": .logUniform(low: 1e-4, high: 1), "hidden": .integer(low: 1, high: 8),
                                     "batch": .choice([.integer(32), .integer(64)])])
        let design = (0..<8).map { RandomSampler(seed: 3).stratifiedAssignment(round: 0, trial: $0, of: 8, box: space.fullBox, space: space) }
        // lr: slice k is [10^(−4 + k/2), 10^(−4 + (k+1)/2)); hidden: the integer k + 1.
        let lrSlices = design.map { Int(((log10($0["lr"]?.numericValue ?? .nan) + 4) * 2).rounded(.down)) }
        XCTAssertEqual(lrSlices.sorted(), Array(0..<8))
        XCTAssertEqual(design.compactMap { $0["hidden"]?.numericValue }.map(Int.init).sorted(), Array(1...8))
        XCTAssertEqual(design.filter { $0["batch"] == .integer(32) }.count, 4)
        let other = (0..<8).map { RandomSampler(seed: 4).stratifiedAssignment(round: 0, trial: $0, of: 8, box: space.fullBox, space: space) }
        XCTAssertNotEqual(design, other)
        XCTAssertEqual(RandomSampler(seed: 3).stratifiedAssignment(round: 0, trial: 8, of: 8, box: space.fullBox, space: space),
                       RandomSampler(seed: 3).assignment(round: 0, trial: 8, box: space.fullBox, space: space))
    }

    func testOneMinusLogUniformBetaIsUniformInLogOfOneMinusBeta() throws {
        let space = try SearchSpace(["momentum": .oneMinusLogUniform(low: 0.9, high: 0.999)])
        let values = RandomSampler(seed: 11).assignments(round: 0, count: 1_000, box: space.fullBox, space: space)
            .map { $0["momentum"]?.numericValue ?? .nan }
        XCTAssertTrue(values.allSatisfy { $0 >= 0.9 && $0 <= 0.999 })
        // 1 − β spans the two decades [1e-3, 1e-2) and [1e-2, 1e-1): 50 % each, binomial σ ≈ 1.6 %, ±5 points ≈ 3σ.
        // Sampling β uniformly instead would put ~91 % of the draws in 1 − β ≥ 0.01.
        let shares = decadeShares(values.map { 1 - $0 }, decades: -3...(-2))
        XCTAssertEqual(shares[0], 0.5, accuracy: 0.05)
        XCTAssertEqual(shares[1], 0.5, accuracy: 0.05)
    }

    func testSameSeedSameDrawsAndOtherSeedOtherDraws() throws {
        let a = try draws(.logUniform(low: 1e-4, high: 1), 20, seed: 3)
        XCTAssertEqual(a, try draws(.logUniform(low: 1e-4, high: 1), 20, seed: 3))
        XCTAssertNotEqual(a, try draws(.logUniform(low: 1e-4, high: 1), 20, seed: 4))
    }

    func testIntegerAndChoiceDrawsCoverEveryValue() throws {
        let space = try SearchSpace(["depth": .integer(low: 1, high: 3), "optimizer": .choice([.text("adam"), .text("sgd")])])
        let drawn = RandomSampler(seed: 5).assignments(round: 0, count: 200, box: space.fullBox, space: space)
        XCTAssertEqual(Set(drawn.compactMap { $0["depth"] }), [.integer(1), .integer(2), .integer(3)])
        XCTAssertEqual(Set(drawn.compactMap { $0["optimizer"] }), [.text("adam"), .text("sgd")])
    }

    func testParsesBothSyntaxesInRankOrder() throws {
        let json = """
            {"layers": "choice(\\"512,256\\", \\"256\\")", "beta1": "oneMinusLogUniform(0.9, 0.999)",
             "lr": "logUniform(1e-4, 1)", "batch": {"dist": "choice", "values": [64, 128]},
             "keep": {"dist": "uniform", "low": 0.5, "high": 1}, "epochs": "fixed(3)"}
            """
        let space = try SearchSpace(json: Data(json.utf8), source: "test")
        XCTAssertEqual(space.names, ["lr", "batch", "layers", "keep", "epochs", "beta1"])
        XCTAssertEqual(space.distribution(of: "lr"), .logUniform(low: 1e-4, high: 1))
        XCTAssertEqual(space.distribution(of: "layers"), .choice([.text("512,256"), .text("256")]))
        XCTAssertEqual(space.distribution(of: "batch"), .choice([.integer(64), .integer(128)]))
        XCTAssertEqual(space.distribution(of: "keep"), .uniform(low: 0.5, high: 1))
        XCTAssertEqual(space.distribution(of: "epochs"), .choice([.integer(3)]))
        // The canonical text of each entry parses back to the same distribution.
        let again = try SearchSpace(json: try JSONSerialization.data(withJSONObject: space.jsonObject), source: "round trip")
        XCTAssertEqual(again, space)
    }

    func testTrainArgumentsForAnAssignment() {
        let args = Hyperparameter.trainArguments(for: ["lr": .real(0.003), "hidden": .integer(128), "depth": .integer(3),
                                                       "batch": .integer(64), "keep": .real(0.8)])
        XCTAssertEqual(args, ["--lr", "0.003", "--batch", "64", "--dropout", "0.8", "--layers", "128,128,128"])
    }

    func testRecommendedSpaceIsValidAndRanksLearningRateFirst() throws {
        let space = SearchSpace.recommended
        let rebuilt = try SearchSpace(Dictionary(uniqueKeysWithValues: space.entries.map { ($0.name, $0.distribution) }))
        XCTAssertEqual(rebuilt, space)
        XCTAssertEqual(space.names.first, "lr")
        XCTAssertFalse(space.names.contains("beta2") || space.names.contains("epsilon"), "Adam's β₂ and ε stay at their defaults")
    }

    /// The default space searches around `nn train`'s own recipe (Adam, cosine, α₀ = 1e-3), not SGD
    /// with inverse-time decay, whose random trials reached 7.6–69 % on Fashion-MNIST.
    func testRecommendedSpaceSurroundsTheTrainingRecipe() throws {
        let space = SearchSpace.recommended
        XCTAssertEqual(space.distribution(of: "optimizer"), .choice([.text("adam")]))
        XCTAssertEqual(space.distribution(of: "schedule"), .choice([.text("cosine")]))
        guard case let .logUniform(low, high)? = space.distribution(of: "lr") else { return XCTFail("lr must be log-uniform") }
        XCTAssertEqual(sqrt(low * high), 1e-3, accuracy: 1e-12, "the log-midpoint is nn train's default α₀")
        XCTAssertEqual(log10(high / low), 2, accuracy: 1e-12, "two decades around it")
        guard case let .choice(widths)? = space.distribution(of: "hidden") else { return XCTFail("hidden must be a choice") }
        XCTAssertTrue(widths.contains(.integer(256)) && widths.contains(.integer(512)), "the recipe's 512 and 256 units are candidates")
        XCTAssertNil(space.distribution(of: "momentum"), "momentum does nothing under Adam")
        XCTAssertNil(space.distribution(of: "decay"), "decay does nothing under cosine")
    }

    /// Each malformed entry is rejected with an error naming the entry and the problem.
    func testMalformedSpacesNameTheEntry() {
        let cases: [(json: String, entry: String, mentions: String)] = [
            (#"{"lr": "gaussian(0, 1)"}"#, "lr", "unknown distribution"),
            (#"{"lr": "logUniform(1, 1e-4)"}"#, "lr", "exceeds upper bound"),
            (#"{"lr": "logUniform(0, 1)"}"#, "lr", "log range"),
            (#"{"lr": "logUniform(-1, 1)"}"#, "lr", "log range"),
            (#"{"momentum": "oneMinusLogUniform(0.9, 1)"}"#, "momentum", "must be < 1"),
            (#"{"momentum": "uniform(0.9, 1)"}"#, "momentum", "in [0, 1)"),
            (#"{"learning_rate": "logUniform(1e-4, 1)"}"#, "learning_rate", "unknown hyperparameter"),
            (#"{"batch": "uniform(16, 64)"}"#, "batch", "whole numbers"),
            (#"{"depth": "int(1.5, 3)"}"#, "depth", "whole numbers"),
            (#"{"lr": "logUniform(1e-4)"}"#, "lr", "two bounds"),
            (#"{"lr": "logUniform 1e-4, 1"}"#, "lr", "cannot read"),
            (#"{"optimizer": "choice()"}"#, "optimizer", "at least one value"),
            (#"{"optimizer": "logUniform(1, 2)"}"#, "optimizer", "takes text"),
            (#"{"lr": {"dist": "logUniform", "low": 1e-4}}"#, "lr", "numeric \"high\""),
            (#"{"layers": "choice(\"256\")", "hidden": "int(8, 16)"}"#, "layers", "conflicts with 'hidden'"),
        ]
        for c in cases {
            XCTAssertThrowsError(try SearchSpace(json: Data(c.json.utf8), source: "space.json"), c.json) { error in
                guard case let TuneError.invalidSpace(entry, _) = error else {
                    return XCTFail("\(c.json): expected invalidSpace, got \(error)")
                }
                XCTAssertEqual(entry, c.entry, c.json)
                XCTAssertTrue("\(error)".contains(c.mentions), "\(c.json): message '\(error)' should mention '\(c.mentions)'")
            }
        }
    }

    func testMalformedFilesAreReportedAsSuch() {
        for text in ["[1, 2]", "{not json"] {
            XCTAssertThrowsError(try SearchSpace(json: Data(text.utf8), source: "space.json")) { error in
                guard case TuneError.malformedSpaceFile(path: "space.json", _) = error else {
                    return XCTFail("expected malformedSpaceFile for \(text), got \(error)")
                }
            }
        }
    }
}
