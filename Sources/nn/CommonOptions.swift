import ArgumentParser
import Foundation
import NNBackends
import NNCore
import NNData
import NNTrain

/// `--backend NAME`: any backend registered in `BackendRegistry.shared`, or auto. The registry is
/// open, so the choices are listed when the help is printed rather than fixed here.
let backendHelp = ArgumentHelp(
    "Backend: auto or a registered backend (\(BackendRegistry.shared.names.joined(separator: ", "))); "
        + "default: $NN_BACKEND, else auto. `nn devices` lists them.",
    valueName: "name")

/// `--model`, as eval, predict and export take it (``ModelCheckpoint/modelPath(for:)`` resolves it).
let modelHelp = ArgumentHelp("A checkpoint folder (e.g. runs/x/best), its model.safetensors, or a run folder (its best/).",
                             valueName: "file")

/// Refuses an unregistered name with the list of registered ones.
@Sendable
func parseBackendRequest(_ text: String) throws -> BackendRequest {
    try BackendRegistry.shared.request(parsing: text)
}

extension Activation: ExpressibleByArgument {}
extension WeightInit: ExpressibleByArgument {}
extension ClassifierHead: ExpressibleByArgument {}
extension CSVHeader: ExpressibleByArgument {}

/// How a data source is read, shared by `train` and `eval`.
struct DataReadingOptions: ParsableArguments {
    @Option(name: .customLong("labels"), help: ArgumentHelp("Labels file for a features-only --data (.npy or IDX).", valueName: "file"))
    var labelsPath: String?

    // .unconditional: "-1" (the last column) is a value here, not an option.
    @Option(name: .customLong("label-column"), parsing: .unconditional,
            help: ArgumentHelp("CSV label column: a 0-based index (negative counts from the end) or a header name. "
                + "Labels may be class indices (0, 1, 2, …) or class names (text; classes are numbered in sorted order).",
                valueName: "column"))
    var labelColumn: String = "last"

    @Option(name: .customLong("header"), help: "Whether the CSV's first row is a header (auto: when a feature cell in it is not a number).")
    var header: CSVHeader = .auto

    @Option(help: ArgumentHelp("CSV field separator: one character, or 'tab' (a .tsv file's default is tab).", valueName: "char"))
    var delimiter: CSVDelimiter = .comma

    @Option(parsing: .unconditional, help: ArgumentHelp("Number of classes (default: largest training label + 1).", valueName: "n"))
    var classes: Int?

    @Option(name: .customLong("npz-x"), help: ArgumentHelp("Features array inside an .npz archive.", valueName: "name"))
    var npzFeatures: String?

    @Option(name: .customLong("npz-y"), help: ArgumentHelp("Labels array inside an .npz archive.", valueName: "name"))
    var npzLabels: String?

    func validate() throws {
        if let classes, classes < 2 {
            throw ValidationError("--classes \(classes): a classifier needs at least 2 classes")
        }
    }

    func loadOptions(testPath: String?) -> DataLoadOptions {
        DataLoadOptions(csv: CSVOptions(labelColumn: LabelColumn(parsing: labelColumn), header: header, delimiter: delimiter.character),
                        classes: classes, labelsPath: labelsPath, testPath: testPath,
                        npzFeatureKey: npzFeatures, npzLabelKey: npzLabels)
    }
}

/// `--delimiter`: one ASCII character other than a quote or a line end; "tab" and "\t" name the tab.
struct CSVDelimiter: ExpressibleByArgument, Equatable {
    let character: Character

    static let comma = CSVDelimiter(character: ",")

    private init(character: Character) { self.character = character }

    init?(argument: String) {
        switch argument.lowercased() {
        case "tab", "\\t", "\t": character = "\t"
        case "comma": character = ","
        case "semicolon": character = ";"
        default:
            guard argument.count == 1, let c = argument.first, c.isASCII, c != "\"", !c.isNewline else { return nil }
            character = c
        }
    }

    /// The argument that parses back to this delimiter.
    var argument: String { character == "\t" ? "tab" : String(character) }

    var defaultValueDescription: String { argument }
}

/// `--dev-size`: a sample count ("5000") or a fraction of the training set ("0.1" or "10%").
enum DevSize: ExpressibleByArgument, CustomStringConvertible {
    case count(Int)
    case fraction(Double)

    init?(argument: String) {
        if argument.hasSuffix("%"), let p = Double(argument.dropLast()), p >= 0, p < 100 {
            self = .fraction(p / 100)
        } else if let n = Int(argument), n >= 0 {
            self = .count(n)
        } else if let f = Double(argument), f >= 0, f < 1 {
            self = .fraction(f)
        } else {
            return nil
        }
    }

    func count(of total: Int) -> Int {
        switch self {
        case let .count(n): return n
        case let .fraction(f): return Int((Double(total) * f).rounded())
        }
    }

    var description: String {
        switch self {
        case let .count(n): return String(n)
        case let .fraction(f):
            // Rounded to 9 digits so that 0.07 reads "7%", not "7.000000000000001%".
            let percent = (f * 100 * 1e9).rounded() / 1e9
            return percent == percent.rounded() ? "\(Int(percent))%" : "\(percent)%"
        }
    }
}

/// Comma-separated hidden-layer sizes: "512,256"; "" or "none" for no hidden layer (softmax regression).
struct HiddenLayers: ExpressibleByArgument, CustomStringConvertible {
    var sizes: [Int]

    init(_ sizes: [Int]) { self.sizes = sizes }

    init?(argument: String) {
        let trimmed = argument.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.lowercased() == "none" {
            sizes = []
            return
        }
        var result: [Int] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 1 else { return nil }
            result.append(n)
        }
        sizes = result
    }

    var description: String { sizes.isEmpty ? "none" : sizes.map(String.init).joined(separator: ",") }
}
