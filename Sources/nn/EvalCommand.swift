import ArgumentParser
import Foundation
import NNCore
import NNData
import NNTrain

/// `nn eval`: loss and accuracy of a saved model on a data set, and optionally every sample's class
/// probabilities as CSV.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a saved model: loss and accuracy, optionally per-sample class probabilities.")

    @Option(help: ArgumentHelp("A checkpoint folder (e.g. runs/x/best) or its model.safetensors.", valueName: "file"))
    var model: String

    @Option(help: ArgumentHelp("fashion-mnist, mnist, digits, or a path; named sets are evaluated on their test split.", valueName: "name|path"))
    var data: String

    @Option(help: "Which part of the data: test (the default when the source has a test set) or train.")
    var split: EvalSplit?

    @OptionGroup(title: "Data reading")
    var reading: DataReadingOptions

    @Option(help: ArgumentHelp("Write each sample's class probabilities (and label, prediction) as CSV.", valueName: "file"))
    var predictions: String?

    @Option(help: ArgumentHelp("Backend: auto, opencl or native (default: $NN_BACKEND, else auto).", valueName: "kind"))
    var backend: BackendKind?

    @Option(name: .customLong("batch"), help: ArgumentHelp("Evaluation batch size.", valueName: "n"))
    var batchSize: Int = 1024

    @Flag(help: "One JSON line on stdout instead of text.")
    var json: Bool = false

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch \(batchSize) must be at least 1") }
    }

    func run() throws {
        let description = try ModelCheckpoint.describe(model)
        var options = reading.loadOptions(testPath: nil)
        if options.classes == nil { options.classes = description.spec.classes }
        let splits = try DataLoader.load(data, options: options)
        let chosen = split ?? (splits.test != nil ? .test : .train)
        let dataset: Dataset
        switch chosen {
        case .train:
            dataset = splits.train
        case .test:
            guard let test = splits.test else {
                throw CommandFailure.usage("\(data) has no test split; use --split train (or evaluate a separate file)")
            }
            dataset = test
        }
        guard dataset.width == description.spec.inputWidth else {
            throw CommandFailure.failed(
                "\(dataset.name) has \(dataset.width) features per sample but the model takes \(description.spec.inputWidth); evaluate it on data like its training data")
        }

        let backend = try BackendFactory.make(backend)
        let network = try ModelCheckpoint.load(model, backend: backend)
        let evaluation = try network.evaluate(dataset, batchSize: batchSize)
        if let predictions {
            let probabilities = try network.predictProbabilities(dataset, batchSize: batchSize)
            try Self.writePredictions(probabilities, labels: dataset.labels, classes: network.spec.classes, to: predictions)
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

    /// CSV with a header: `label,predicted,p0,p1,…`, one row per sample, probabilities printed with 9
    /// significant digits so a Float32 round-trips exactly.
    static func writePredictions(_ p: [Float], labels: [Int32], classes: Int, to path: String) throws {
        var text = "label,predicted," + (0..<classes).map { "p\($0)" }.joined(separator: ",") + "\n"
        text.reserveCapacity(labels.count * classes * 12)
        for (i, label) in labels.enumerated() {
            let row = p[(i * classes)..<((i + 1) * classes)]
            var best = row.startIndex
            for j in row.indices where row[j] > row[best] { best = j }
            text += "\(label),\(best - row.startIndex)," + row.map { String(format: "%.9g", Double($0)) }.joined(separator: ",") + "\n"
        }
        try AtomicFile.write(text, to: path)
    }
}

enum EvalSplit: String, CaseIterable, ExpressibleByArgument {
    case train, test
}
