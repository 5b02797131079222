import NNCore
import NNTrain
import XCTest

/// Data sets, normalisation, schedules, averages and the bias/variance reading.
final class ComponentTests: XCTestCase {
    func testSplitIsSeededDisjointAndComplete() throws {
        let data = try Dataset(features: (0..<40).map(Float.init), labels: (0..<20).map { Int32($0 % 4) }, width: 2, classes: 4)
        let (train, dev) = try data.split(devCount: 5, seed: 3)
        XCTAssertEqual(train.count, 15)
        XCTAssertEqual(dev.count, 5)
        let firstFeatures = (train.features + dev.features).enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        XCTAssertEqual(Set(firstFeatures), Set((0..<20).map { Float($0 * 2) }), "every row lands in exactly one part")
        let again = try data.split(devCount: 5, seed: 3)
        XCTAssertEqual(again.dev.features, dev.features)
        XCTAssertNotEqual(try data.split(devCount: 5, seed: 4).dev.features, dev.features)
        XCTAssertThrowsError(try data.split(devCount: 21, seed: 3))
        XCTAssertThrowsError(try data.subset(rows: [0, 20]))
        XCTAssertEqual(try data.subset(rows: [3, 3]).features, [6, 7, 6, 7])
        // splitRows names the same rows in the same order, copying nothing (nn train --train-size
        // copies only the rows it keeps).
        let rows = try data.splitRows(devCount: 5, seed: 3)
        XCTAssertEqual(try data.subset(rows: rows.train).features, train.features)
        XCTAssertEqual(try data.subset(rows: rows.dev).features, dev.features)
        XCTAssertEqual((rows.train + rows.dev).sorted(), Array(0..<20))
        XCTAssertThrowsError(try data.splitRows(devCount: -1, seed: 3))
    }

    func testNormalizerFitsTrainingSetAndHandlesConstantFeatures() throws {
        let train = try Dataset(features: [1, 5, 3, 5, 5, 5], labels: [0, 1, 0], width: 2, classes: 2)
        let n = try InputNormalizer.fit(train)
        XCTAssertEqual(n.mean, [3, 5])
        XCTAssertEqual(n.standardDeviation[0], (8 / 3 as Float).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(n.standardDeviation[1], 1, "zero variance gets std 1")
        let normalized = n.apply(train.features)
        XCTAssertEqual(normalized[0] + normalized[2] + normalized[4], 0, accuracy: 1e-6)
        XCTAssertEqual(normalized[1], 0)
        // Applied unchanged to other data: a dev row is shifted and scaled by the training statistics.
        XCTAssertEqual(n.apply([3, 7]), [0, 2])
    }

    func testGlobalNormalizerPoolsEveryValue() throws {
        // Features in one unit: one μ and σ over all six values, not one per column. The rarely lit
        // second column (σ_j small) is scaled like the first instead of being blown up.
        let train = try Dataset(features: [0, 0, 2, 0, 4, 1], labels: [0, 1, 0], width: 2, classes: 2)
        let values: [Double] = [0, 0, 2, 0, 4, 1]
        let mean = values.reduce(0, +) / 6
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6).squareRoot()
        let n = try XCTUnwrap(InputNormalizer.fit(train, .global))
        XCTAssertEqual(n.mean, [Float(mean), Float(mean)])
        XCTAssertEqual(Double(n.standardDeviation[0]), std, accuracy: 1e-6)
        XCTAssertEqual(n.standardDeviation[1], n.standardDeviation[0])
        let perFeature = try XCTUnwrap(InputNormalizer.fit(train, .perFeature))
        XCTAssertEqual(perFeature, try InputNormalizer.fit(train))
        XCTAssertLessThan(perFeature.standardDeviation[1], n.standardDeviation[1])
        XCTAssertNil(try InputNormalizer.fit(train, .none))
        // A constant data set maps to 0 rather than dividing by 0.
        let constant = try Dataset(features: [3, 3, 3, 3], labels: [0, 1], width: 2, classes: 2)
        XCTAssertEqual(try XCTUnwrap(InputNormalizer.fit(constant, .global)).apply([3, 3]), [0, 0])
    }

    func testSchedules() {
        let a0: Float = 0.1
        XCTAssertEqual(LearningRateSchedule.constant.learningRate(initial: a0, epoch: 7, epochs: 10), 0.1)
        XCTAssertEqual(LearningRateSchedule.inverseTime(decay: 1).learningRate(initial: a0, epoch: 0, epochs: 10), 0.1)
        XCTAssertEqual(LearningRateSchedule.inverseTime(decay: 1).learningRate(initial: a0, epoch: 3, epochs: 10), 0.025, accuracy: 1e-8)
        XCTAssertEqual(LearningRateSchedule.exponential(rate: 0.5).learningRate(initial: a0, epoch: 2, epochs: 10), 0.025, accuracy: 1e-8)
        XCTAssertEqual(LearningRateSchedule.staircase(decay: 1, interval: 2).learningRate(initial: a0, epoch: 3, epochs: 10), 0.05, accuracy: 1e-8)
        XCTAssertEqual(LearningRateSchedule.staircase(decay: 1, interval: 2).learningRate(initial: a0, epoch: 4, epochs: 10), 0.1 / 3, accuracy: 1e-8)
        XCTAssertEqual(LearningRateSchedule.step(factor: 0.1, interval: 3).learningRate(initial: a0, epoch: 3, epochs: 10), 0.01, accuracy: 1e-8)
        XCTAssertEqual(LearningRateSchedule.inverseSqrt(k: 2).learningRate(initial: a0, epoch: 3, epochs: 10), 0.1, accuracy: 1e-8)
        // Cosine spans the run: α₀ at the start, half-way at half the run, near 0 but not 0 in the last
        // epoch, and the same shape stretched over a longer run.
        let cosine = LearningRateSchedule.cosine
        XCTAssertEqual(cosine.learningRate(initial: a0, epoch: 0, epochs: 10), 0.1)
        XCTAssertEqual(cosine.learningRate(initial: a0, epoch: 5, epochs: 10), 0.05, accuracy: 1e-8)
        XCTAssertEqual(cosine.learningRate(initial: a0, epoch: 9, epochs: 10), 0.1 * 0.5 * (1 - cos(.pi / 10)), accuracy: 1e-8)
        XCTAssertGreaterThan(cosine.learningRate(initial: a0, epoch: 9, epochs: 10), 0)
        XCTAssertEqual(cosine.learningRate(initial: a0, epoch: 25, epochs: 50), 0.05, accuracy: 1e-8)
        XCTAssertEqual(cosine.learningRate(initial: a0, epoch: 12, epochs: 10), 0, "past the end of a shortened run")
        let rates = (0..<10).map { cosine.learningRate(initial: a0, epoch: $0, epochs: 10) }
        XCTAssertEqual(rates, rates.sorted(by: >), "strictly decreasing over the run")
        XCTAssertNoThrow(try cosine.validate())
        XCTAssertThrowsError(try LearningRateSchedule.staircase(decay: 1, interval: 0).validate())
        XCTAssertThrowsError(try LearningRateSchedule.inverseTime(decay: -1).validate())
    }

    func testExponentialAverageBiasCorrection() throws {
        var corrected = try ExponentialAverage(beta: 0.9)
        var raw = try ExponentialAverage(beta: 0.9, biasCorrection: false)
        XCTAssertNil(corrected.value)
        for _ in 0..<3 {
            corrected.add(10)
            raw.add(10)
        }
        XCTAssertEqual(try XCTUnwrap(corrected.value), 10, accuracy: 1e-12, "a constant series averages to itself")
        XCTAssertEqual(try XCTUnwrap(raw.value), 10 * (1 - 0.9 * 0.9 * 0.9), accuracy: 1e-12, "uncorrected starts biased to 0")
        XCTAssertThrowsError(try ExponentialAverage(beta: 1))
    }

    func testDiagnosisReadings() {
        let variance = Diagnosis(trainError: 0.009, devError: 0.061)
        XCTAssertEqual(variance.finding, .highVariance)
        XCTAssertEqual(variance.description,
                       "high variance: dev error 6.1 % vs train 0.9 %; try more data or regularisation (L2, dropout, early stopping) "
                        + "(avoidable bias 0.9 pp, variance 5.2 pp, each high above 2.0 pp; Bayes error assumed 0 %; "
                        + "give your data's achievable error with --bayes-error)")
        XCTAssertEqual(Diagnosis(trainError: 0.15, devError: 0.16).finding, .highBias)
        XCTAssertTrue(Diagnosis(trainError: 0.15, devError: 0.30).description.hasPrefix("high bias and high variance"))
        XCTAssertEqual(Diagnosis(trainError: 0.15, devError: 0.16, bayesError: 0.14).finding, .balanced)
        XCTAssertTrue(Diagnosis(trainError: 0.15, devError: 0.16, bayesError: 0.14).description.contains("Bayes error 14.0 %"),
                      "a given Bayes error is named, not called assumed")
    }

    /// The default Fashion-MNIST run ends near 97.4 % train and 90.6 % dev accuracy: a 2.6-point
    /// avoidable bias beside a 6.8-point variance gap is a variance problem (the course: work on the
    /// bigger gap), not "high bias and high variance … first a bigger network".
    func testDiagnosisNamesTheDominantGap() {
        let defaultRun = Diagnosis(trainError: 0.026, devError: 0.094)
        XCTAssertEqual(defaultRun.finding, .highVariance)
        XCTAssertTrue(defaultRun.description.hasPrefix("high variance: dev error 9.4 % vs train 2.6 %"), defaultRun.description)
        XCTAssertTrue(defaultRun.description.contains("--bayes-error"), "says how to set what the data allows")
        XCTAssertEqual(Diagnosis(trainError: 0.10, devError: 0.13).finding, .highBias, "bias 10 pp dominates variance 3 pp")
        XCTAssertEqual(Diagnosis(trainError: 0.05, devError: 0.09).finding, .highBiasAndVariance, "5 pp and 4 pp: both")
        XCTAssertEqual(Diagnosis(trainError: 0.026, devError: 0.094, bayesError: 0.02).finding, .highVariance)
    }

    func testSeededGeneratorStateRoundTrip() throws {
        var g = SeededGenerator(seed: 5)
        _ = g.next()
        var restored = try SeededGenerator(state: g.state)
        XCTAssertEqual((0..<5).map { _ in g.next() }, (0..<5).map { _ in restored.next() })
        XCTAssertThrowsError(try SeededGenerator(state: [0, 0, 0, 0]))
        XCTAssertEqual(SeededGenerator(seed: 1).state, SeededGenerator(seed: 1).state)
        var p = SeededGenerator(seed: 2)
        XCTAssertEqual(p.permutation(50).sorted(), Array(0..<50))
    }
}
