import Foundation
import NNTrain

/// The per-sample CSV that `nn eval --predictions` and `nn predict --out` write: a header, then one
/// row per sample with its label (eval only), the predicted class and every class's probability.
///
///     label,predicted,p0,p1,p2                  classes numbered
///     predicted,p_setosa,p_versicolor,…         classes named (cells hold the names)
///
/// Probabilities carry 9 significant digits, so a Float32 round-trips exactly.
enum PredictionsFile {
    static func text(_ predictions: [Prediction], labels: [Int32]?, classes: Int, classNames: [String]?) -> String {
        let classTitles = classNames.map { $0.map { "p_\($0)" } } ?? (0..<classes).map { "p\($0)" }
        let titles = (labels == nil ? [] : ["label"]) + ["predicted"] + classTitles
        var text = titles.map(cell).joined(separator: ",") + "\n"
        text.reserveCapacity(predictions.count * (classes * 12 + 8))
        func name(_ index: Int) -> String { cell(classNames?[index] ?? String(index)) }
        for (i, prediction) in predictions.enumerated() {
            if let labels { text += name(Int(labels[i])) + "," }
            text += name(prediction.classIndex) + ","
            text += prediction.probabilities.map { String(format: "%.9g", Double($0)) }.joined(separator: ",") + "\n"
        }
        return text
    }

    /// A CSV cell: quoted (with inner quotes doubled) when it holds a comma, a quote or a line end.
    static func cell(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Writes atomically into an existing folder: a missing folder is an error, not created, so a
    /// typing slip in the path does not scatter files.
    static func write(_ text: String, to path: String, option: String) throws {
        try checkFolder(of: path, option: option)
        try AtomicFile.write(text, to: path)
    }

    /// Checked before the work starts too, so a long prediction does not end in a usage error.
    static func checkFolder(of path: String, option: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue) else {
            throw CommandFailure.usage("\(option) \(path): the folder \(folder) does not exist; create it first or choose another path")
        }
    }
}
