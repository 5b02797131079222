// Trains the 8×8 digits with SwiftNN's recommended recipe, then predicts from plain arrays of
// features, saves the model, loads it back and checks that the loaded model predicts the same.
//
//   swift run -c release digits-example [path/to/digits.csv] [--min-accuracy 0.9]
//
// Exits 1 when the test accuracy is below the threshold (or anything fails), so CI can run it.
import Foundation
import NNBackends
import NNData
import NNTrain

/// The repository's copy of scikit-learn's digits, found from this file's place in the checkout.
let repositoryDigits = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("../../Tests/Fixtures/digits.csv").standardized.path

struct Options {
    var dataPath = repositoryDigits
    // The recipe reaches about 97 % on this split; 90 % leaves room for other backends and seeds
    // while a model that learned nothing (10 %) or half-learned fails.
    var minimumAccuracy = 0.90

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--min-accuracy" {
                guard let text = rest.popFirst(), let value = Double(text), (0...1).contains(value) else {
                    throw UsageError("--min-accuracy needs a fraction in [0, 1], e.g. --min-accuracy 0.9")
                }
                minimumAccuracy = value
            } else if argument.hasPrefix("-") {
                throw UsageError("unknown option \(argument); usage: digits-example [digits.csv] [--min-accuracy 0.9]")
            } else {
                dataPath = argument
            }
        }
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func run() throws -> Bool {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    let data = try DataLoader.load(options.dataPath)
    // The CSV has no test split: hold out 360 samples (20 %) as the test set, then split the
    // recipe's dev set off the rest.
    let (rest, test) = try data.train.split(devCount: 360, seed: 7)
    let recipe = TrainingRecipe.standard
    let (train, dev) = try rest.split(devCount: recipe.devCount(of: rest.count), seed: recipe.splitSeed)

    let backend = try BackendSelection.make()  // NN_BACKEND, else OpenCL when a device works, else native
    let network = try Network(spec: try recipe.networkSpec(inputWidth: train.width, classes: train.classes),
                              backend: backend, seed: 1)
    var config = TrainingConfig.recommended(normalization: data.suggestedNormalization)
    config.batchSize = 64  // ~1,300 training samples: smaller batches give the 10 epochs more steps
    let trainer = try Trainer(network: network, config: config)
    ProgressPrinter().attach(to: trainer)
    let report = try trainer.fit(train: train, dev: dev, test: test)
    print("backend \(backend.name): \(train.count) train, \(dev.count) dev, \(test.count) test samples; "
        + "test accuracy \(String(format: "%.2f", (report.test?.accuracy ?? 0) * 100)) %")

    // Predicting from arrays: rows of raw features, as an application would have them.
    let rows: [[Float]] = (0..<test.count).map { Array(test.sample($0)) }
    let predictions = try network.predict(rows)
    let accuracy = try predictions.accuracy(against: test.labels)
    for (index, prediction) in predictions.prefix(5).enumerated() {
        let confidence = prediction.probabilities[prediction.classIndex]
        print("row \(index): predicted \(prediction.label) (p = \(String(format: "%.3f", confidence))), true \(test.labels[index])")
    }
    print("accuracy of predict(rows): \(String(format: "%.2f", accuracy * 100)) % (threshold \(options.minimumAccuracy * 100) %)")

    // Save, load, and predict again: the loaded model must give the same predictions.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("digits-example-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try ModelCheckpoint.save(network, toDirectory: folder)
    let loaded = try ModelCheckpoint.load(folder, backend: backend)
    let again = try loaded.predict(rows)
    guard again.classIndices == predictions.classIndices else {
        print("error: the model loaded from \(folder) predicts differently from the one saved")
        return false
    }
    print("saved to and loaded from a checkpoint: same \(again.count) predictions")

    guard accuracy >= options.minimumAccuracy else {
        print("error: accuracy \(accuracy) is below the threshold \(options.minimumAccuracy)")
        return false
    }
    return true
}

do {
    exit(try run() ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("digits-example: \(error)\n".utf8))
    exit(1)
}
