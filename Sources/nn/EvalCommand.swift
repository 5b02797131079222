import ArgumentParser
import Foundation
import NNBackends
import NNCore
import NNData
import NNTrain

/// `nn eval`: loss and accuracy of a saved model on a data set, and optionally every sample's class
/// probabilities as CSV.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a saved model: loss and accuracy, optionally per-sample class probabilities.")

    @Option(help: modelHelp)
    var model: String

    @Option(help: ArgumentHelp("fashion-mnist, mnist, digits, or a path; named sets are evaluated on their test split.", valueName: "name|path"))
    var data: String

    @Option(help: "Which part of the data: test (the default when the source has a test set) or train.")
    var split: EvalSplit?

    @OptionGroup(title: "Data reading")
    var reading: DataReadingOptions

    @Option(help: ArgumentHelp("Write each sample's class probabilities (and label, prediction) as CSV.", valueName: "file"))
    var predictions: String?

    @Option(help: backendHelp, transform: parseBackendRequest)
    var backend: BackendRequest?

    @Option(name: .customLong("batch"), parsing: .unconditional, help: ArgumentHelp("Evaluation batch size.", valueName: "n"))
    var batchSize: Int = 1024

    @Flag(help: "One JSON line on stdout instead of text.")
    var json: Bool = false

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch \(batchSize) must be at least 1") }
    }

    func run() throws {
        let description = try ModelCheckpoint.describe(model)
        // Before the evaluation, not after it: a wrong path should not cost a pass over the data.
        if let predictions { try PredictionsFile.checkFolder(of: predictions, option: "--predictions") }
        var options = reading.loadOptions(testPath: nil)
        if options.classes == nil { options.classes = description.spec.classes }
        options.classNames = description.classNames
        let splits: DataSplits
        do {
            splits = try DataLoader.load(data, options: options)
        } catch let error as NNError {
            throw labelsMissing(in: description) ?? error
        }
        let chosen = split ?? (splits.test != nil ? .test : .train)
        var dataset: Dataset
        switch chosen {
        case .train:
            dataset = splits.train
            // A file of its own is just "the data"; "train" would suggest a split of it.
            if NamedDataset(rawValue: data.lowercased()) == nil, splits.test == nil {
                dataset.name = URL(fileURLWithPath: data).lastPathComponent
            }
        case .test:
            guard let test = splits.test else {
                throw CommandFailure.usage("\(data) has no test split; use --split train (or evaluate a separate file)")
            }
            dataset = test
        }
        guard dataset.width == description.spec.inputWidth else {
            if let missing = labelsMissing(in: description) { throw missing }
            throw CommandFailure.failed(
                "\(dataset.name) has \(dataset.width) features per sample but the model takes \(description.spec.inputWidth); evaluate it on data like its training data")
        }

        let backend = try BackendFactory.make(backend)
        let network = try ModelCheckpoint.load(model, backend: backend)
        let evaluation = try network.evaluate(dataset, batchSize: batchSize)
        if let predictions {
            let rows = network.predictions(fromProbabilities: try network.predictProbabilities(dataset, batchSize: batchSize))
            try PredictionsFile.write(
                PredictionsFile.text(rows, labels: dataset.labels, classes: network.spec.classes, classNames: network.classNames),
                to: predictions, option: "--predictions")
        }
        if json {
            var line = JSONLine()
            line.add("model", ModelCheckpoint.modelPath(for: model))
            line.add("data", dataset.name)
            line.add("samples", evaluation.count)
            line.add("loss", evaluation.loss)
            line.add("accuracy", evaluation.accuracy)
            line.add("backend", backend.name)
            line.add("device", backend.deviceDescription)
            line.add("predictions", predictions)
            Terminal.printLine(line.text)
        } else {
            Terminal.printLine("\(dataset.name): \(evaluation.count) samples, loss \(Format.fixed(evaluation.loss)), "
                               + "accuracy \(Format.percent(evaluation.accuracy)) (\(backend.name): \(backend.deviceDescription))")
            if let predictions { Terminal.printLine("wrote class probabilities to \(predictions)") }
        }
    }

    /// When `data` is a CSV file with as many columns as the model has inputs, its last column is
    /// no label but a feature: the file holds no labels, and `nn predict` is the command for it.
    private func labelsMissing(in description: ModelCheckpoint.Description) -> CommandFailure? {
        guard DataLoader.isCSV(data), reading.labelColumn == "last",
              let table = try? CSVReader.read(path: data, options: CSVOptions(labelColumn: .none, header: reading.header,
                                                                                delimiter: reading.delimiter.character)),
              table.width == description.spec.inputWidth else { return nil }
        return CommandFailure.failed(
            "\(data) has \(table.width) columns, as many as the model's inputs, so it holds no label column to evaluate against; "
                + "to predict classes for it use: nn predict --model \(model) --data \(data) --out predictions.csv")
    }
}

enum EvalSplit: String, CaseIterable, ExpressibleByArgument {
    case train, test
}
