import ArgumentParser
import Foundation
import NNBackends
import NNCore
import NNData
import NNTrain

/// `nn predict`: classes and class probabilities for data without labels.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict classes for unlabelled data with a saved model; writes the class and its probabilities per sample.",
        discussion: """
            The data is read like nn train's, without labels: a CSV whose columns are the model's input features \
            (a label column, if the file has one, is skipped when named with --label-column), a .npy array, an .npz \
            array (--npz-x), an IDX images file, an MNIST-layout folder (its test images) or a built-in set's test split. \
            Features are given on the raw scale the model was trained on: the model's input normaliser is applied here.

            The CSV written has a header and one row per sample: predicted,p0,p1,… — or, for a model trained on text \
            labels, the class name in 'predicted' and one p_<name> column per class. Without --out it goes to stdout.
            """)

    @Option(help: modelHelp)
    var model: String

    @Option(help: ArgumentHelp("The samples: a path (.csv, .npy, .npz, IDX file or folder) or a built-in set's name.", valueName: "path"))
    var data: String

    @Option(help: ArgumentHelp("Where to write the predictions CSV (its folder must exist); default: stdout.", valueName: "file"))
    var out: String?

    // .unconditional: "-1" (the last column) is a value here, not an option.
    @Option(name: .customLong("label-column"), parsing: .unconditional,
            help: ArgumentHelp("A CSV column to skip because it holds labels: an index (negative counts from the end) or a header name; "
                + "default none (every column is a feature).", valueName: "column"))
    var labelColumn: String = "none"

    @Option(name: .customLong("header"), help: "Whether the CSV's first row is a header (auto: when a cell in it is not a number).")
    var header: CSVHeader = .auto

    @Option(help: ArgumentHelp("CSV field separator: one character, or 'tab'.", valueName: "char"))
    var delimiter: CSVDelimiter = .comma

    @Option(name: .customLong("npz-x"), help: ArgumentHelp("Features array inside an .npz archive.", valueName: "name"))
    var npzFeatures: String?

    @Option(help: backendHelp, transform: parseBackendRequest)
    var backend: BackendRequest?

    @Option(name: .customLong("batch"), parsing: .unconditional, help: ArgumentHelp("Prediction batch size.", valueName: "n"))
    var batchSize: Int = 1024

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch \(batchSize) must be at least 1") }
    }

    func run() throws {
        let description = try ModelCheckpoint.describe(model)
        let options = DataLoadOptions(
            csv: CSVOptions(labelColumn: LabelColumn(parsing: labelColumn), header: header, delimiter: delimiter.character),
            npzFeatureKey: npzFeatures)
        let features = try DataLoader.loadFeatures(data, options: options)
        let width = description.spec.inputWidth
        guard features.width == width else {
            var hint = "predict on data like the model's training data"
            if DataLoader.isCSV(data), features.width == width + 1 {
                hint = "if one column holds labels, name it with --label-column (e.g. --label-column last)"
            }
            throw CommandFailure.failed("\(features.name) has \(features.width) features per sample but the model takes \(width); \(hint)")
        }
        guard features.count > 0 else { throw CommandFailure.failed("\(data) holds no samples") }
        if let out { try PredictionsFile.checkFolder(of: out, option: "--out") }

        let backend = try BackendFactory.make(backend)
        let network = try ModelCheckpoint.load(model, backend: backend)
        let samples = try Dataset(unlabelledFeatures: features.values, width: width, classes: description.spec.classes,
                                  name: features.name)
        let predictions = network.predictions(fromProbabilities: try network.predictProbabilities(samples, batchSize: batchSize))
        let text = PredictionsFile.text(predictions, labels: nil, classes: network.spec.classes, classNames: network.classNames)
        guard let out else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        try PredictionsFile.write(text, to: out, option: "--out")
        var counts = [Int](repeating: 0, count: network.spec.classes)
        for p in predictions { counts[p.classIndex] += 1 }
        let names = network.classNames ?? (0..<counts.count).map(String.init)
        let perClass = zip(names, counts).filter { $0.1 > 0 }.map { "\($0.0): \($0.1)" }.joined(separator: ", ")
        Terminal.printError("nn predict: \(predictions.count) samples of \(features.name) (\(backend.name)); wrote \(out) (predicted \(perClass))")
    }
}
