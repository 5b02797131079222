#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NNCore

/// Which CSV column holds the class label.
public enum LabelColumn: Sendable, Equatable, CustomStringConvertible {
    /// The last column (the default, as in scikit-learn's bundled CSVs).
    case last
    /// A 0-based column index; negative values count from the end (-1 is the last column).
    case index(Int)
    /// The column with this header name (requires a header row).
    case name(String)
    /// No label column: every column is a feature (data to predict on).
    case none

    /// Parses a user's `--label-column` value: an integer is an index, "none" no label column,
    /// anything else a name.
    public init(parsing text: String) {
        if text.lowercased() == "last" {
            self = .last
        } else if text.lowercased() == "none" {
            self = .none
        } else if let index = Int(text) {
            self = .index(index)
        } else {
            self = .name(text)
        }
    }

    public var description: String {
        switch self {
        case .last: return "last"
        case let .index(i): return String(i)
        case let .name(n): return n
        case .none: return "none"
        }
    }
}

/// Whether a CSV file's first row names its columns.
public enum CSVHeader: String, Sendable, CaseIterable {
    /// A header when the first row has a feature cell that is not a number (a label cell may be
    /// text: "setosa" in the label column is a class name, not a header).
    case auto
    /// The first row is a header.
    case present
    /// Every row is data.
    case absent
}

/// Options for reading a labelled CSV file.
public struct CSVOptions: Sendable, Equatable {
    /// Which column holds the label.
    public var labelColumn: LabelColumn
    /// Whether the first row is a header.
    public var header: CSVHeader
    /// The byte between cells (`,` by default).
    public var delimiter: UInt8

    /// Options with the label in `labelColumn`, a header as `header` says, cells split at `delimiter`.
    public init(labelColumn: LabelColumn = .last, header: CSVHeader = .auto, delimiter: Character = ",") {
        self.labelColumn = labelColumn
        self.header = header
        self.delimiter = delimiter.asciiValue ?? UInt8(ascii: ",")
    }
}

/// The numeric content of a CSV file, before it becomes a `Dataset`.
public struct CSVTable: Sendable {
    /// Row-major features: every column except the label.
    public var features: [Float]
    /// One class index per row; empty when the file was read without a label column.
    public var labels: [Int32]
    /// Features per row (the columns without the label).
    public var width: Int
    /// Header names of the feature columns, when the file has a header.
    public var featureNames: [String]?
    /// When the label column holds text ("setosa"): the distinct labels sorted, each label being
    /// its index in this list. nil for integer class labels.
    public var classNames: [String]?

    /// Number of data rows.
    public var rowCount: Int { width > 0 ? features.count / width : 0 }
}

/// Reads comma-separated numeric files: one sample per line, and a label column holding integer class
/// indices or class names (text labels become classes in sorted order), or no label column at all.
///
/// Blank lines are skipped; `\n` and `\r\n` line ends, a UTF-8 byte-order mark, surrounding spaces and
/// double-quoted cells are accepted. Every problem names the file, the 1-based line and column, and the fix:
/// a ragged row, a feature that is not a number, a missing label, a numeric label that is not a
/// non-negative integer.
/// Numbers are parsed in place with `strtof` (the C locale: '.' is the decimal point), without building a
/// string per cell, so a 100 MB file reads in about a second.
public enum CSVReader {
    /// Reads a CSV file, plain or gzip-compressed.
    public static func read(path: String, options: CSVOptions = CSVOptions()) throws -> CSVTable {
        try parse(FileBytes.readMaybeGzip(path), source: path, options: options)
    }

    /// Parses CSV bytes; `source` names them in errors.
    public static func parse(_ input: [UInt8], source: String, options: CSVOptions = CSVOptions()) throws -> CSVTable {
        var bytes = input
        bytes.append(0)  // strtof stops at the terminator on the last cell.
        let end = bytes.count - 1
        let delimiter = options.delimiter
        var start = 0
        if end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }

        var features: [Float] = []
        // Label cells are kept as text until the whole column is seen: all numbers means class
        // indices, any text means class names.
        var labelTexts: [String] = []
        var labelLines: [Int] = []
        var rows = 0
        var columnCount = -1
        var labelIndex: Int?
        var firstDataLine = 0
        var featureNames: [String]?
        var header: [String]?

        try bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            var cells: [(Int, Int)] = []  // [begin, end) of each cell on the current line, trimmed and unquoted
            var lineNumber = 0
            var position = start
            while position < end {
                lineNumber += 1
                var lineEnd = position
                while lineEnd < end && buffer[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                defer { position = lineEnd + 1 }
                var contentEnd = lineEnd
                if contentEnd > position && buffer[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
                if isBlank(buffer, position, contentEnd) { continue }
                try splitCells(buffer, position, contentEnd, delimiter: delimiter, into: &cells, source: source, line: lineNumber)

                if columnCount < 0 {
                    // The first non-blank line fixes the column count and decides the header.
                    columnCount = cells.count
                    firstDataLine = lineNumber
                    // The label column by position is known before the header is; only its
                    // feature cells decide, since a label cell may hold a class name.
                    let positionalLabel = try? resolveLabelColumn(options.labelColumn, columns: columnCount, header: nil,
                                                                  source: source, line: lineNumber)
                    let looksLikeHeader: Bool
                    if case .name = options.labelColumn {
                        looksLikeHeader = cells.contains { !isNumber(base, $0.0, $0.1) }
                    } else {
                        looksLikeHeader = cells.enumerated().contains { column, cell in
                            column != positionalLabel && !isNumber(base, cell.0, cell.1)
                        }
                    }
                    let hasHeader: Bool
                    switch options.header {
                    case .auto: hasHeader = looksLikeHeader
                    case .present: hasHeader = true
                    case .absent: hasHeader = false
                    }
                    if hasHeader {
                        header = cells.map { String(decoding: UnsafeBufferPointer(rebasing: buffer[$0.0..<$0.1]), as: UTF8.self) }
                    }
                    labelIndex = try resolveLabelColumn(options.labelColumn, columns: columnCount, header: header,
                                                        source: source, line: lineNumber)
                    guard columnCount >= 2 || labelIndex == nil else {
                        throw NNError.invalidData(
                            source: source,
                            detail: "line \(lineNumber) has \(columnCount) column; a labelled CSV needs at least one feature column and a label column (is the delimiter '\(Character(UnicodeScalar(delimiter)))' right?)")
                    }
                    if let header {
                        featureNames = header.enumerated().filter { $0.offset != labelIndex }.map(\.element)
                        continue
                    }
                }
                guard cells.count == columnCount else {
                    throw NNError.invalidData(
                        source: source,
                        detail: "line \(lineNumber) has \(cells.count) columns but line \(firstDataLine) has \(columnCount) (ragged row); every row needs the same number of cells")
                }
                rows += 1
                for (column, cell) in cells.enumerated() {
                    if column == labelIndex {
                        guard cell.1 > cell.0 else {
                            throw NNError.invalidData(
                                source: source,
                                detail: "line \(lineNumber), column \(column + 1)\(columnName(header, column)): the label is empty; every row needs a label (or read the file with --label-column none to predict on it)")
                        }
                        labelTexts.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[cell.0..<cell.1]), as: UTF8.self))
                        labelLines.append(lineNumber)
                        continue
                    }
                    guard let value = parseNumber(base, cell.0, cell.1) else {
                        let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[cell.0..<cell.1]), as: UTF8.self)
                        let what = text.isEmpty ? "is empty" : "'\(text)' is not a number"
                        throw NNError.invalidData(
                            source: source,
                            detail: "line \(lineNumber), column \(column + 1)\(columnName(header, column)): \(what); every cell must be a number (fill missing values first)")
                    }
                    guard value.isFinite else {
                        throw NNError.invalidData(
                            source: source,
                            detail: "line \(lineNumber), column \(column + 1)\(columnName(header, column)): \(value) is not finite; replace missing or infinite values first")
                    }
                    features.append(value)
                }
            }
        }
        guard rows > 0 else {
            throw NNError.invalidData(source: source, detail: "no data rows; the file is empty or holds only a header")
        }
        let width = labelIndex == nil ? columnCount : columnCount - 1
        guard let labelIndex else {
            return CSVTable(features: features, labels: [], width: width, featureNames: featureNames)
        }
        let labelColumn = "column \(labelIndex + 1)\(columnName(header, labelIndex))"
        let (labels, classNames) = try classLabels(labelTexts, lines: labelLines, column: labelColumn, source: source)
        return CSVTable(features: features, labels: labels, width: width, featureNames: featureNames, classNames: classNames)
    }

    /// Class indices from the label cells: integers when every cell is a number (each must be a
    /// non-negative integer), otherwise class names, numbered in sorted order.
    static func classLabels(_ texts: [String], lines: [Int], column: String, source: String) throws -> ([Int32], [String]?) {
        let numbers = texts.map { text in text.withCString { chars in
            parseNumber(UnsafeRawPointer(chars).assumingMemoryBound(to: UInt8.self), 0, strlen(chars))
        } }
        if numbers.allSatisfy({ $0 != nil }) {
            var labels = [Int32]()
            labels.reserveCapacity(texts.count)
            for (row, number) in numbers.enumerated() {
                let value = number ?? 0
                guard value >= 0, value == value.rounded(), value < Float(Int32.max) else {
                    throw NNError.invalidData(
                        source: source,
                        detail: "line \(lines[row]), \(column): label \(value) is not a class index; numeric labels must be integers 0, 1, 2, … (choose the label column with --label-column)")
                }
                labels.append(Int32(value))
            }
            return (labels, nil)
        }
        let names = Set(texts).sorted()
        guard names.count <= DatasetAssembly.maximumInferredClasses else {
            throw NNError.invalidData(
                source: source,
                detail: "\(column) holds \(names.count) different text labels, which would mean as many classes; it is probably not the label column (choose it with --label-column)")
        }
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, Int32($0)) })
        return (texts.map { index[$0] ?? 0 }, names)
    }

    private static func columnName(_ header: [String]?, _ column: Int) -> String {
        guard let header, column < header.count else { return "" }
        return " ('\(header[column])')"
    }

    private static func resolveLabelColumn(_ choice: LabelColumn, columns: Int, header: [String]?,
                                           source: String, line: Int) throws -> Int? {
        switch choice {
        case .none:
            return nil
        case .last:
            return columns - 1
        case let .index(i):
            let resolved = i < 0 ? columns + i : i
            guard resolved >= 0, resolved < columns else {
                throw NNError.invalidData(
                    source: source,
                    detail: "label column \(i) does not exist; the file has \(columns) columns (0…\(columns - 1), or -1 for the last)")
            }
            return resolved
        case let .name(name):
            guard let header else {
                throw NNError.invalidData(
                    source: source,
                    detail: "label column '\(name)' given by name but the file has no header row; give a 0-based column index instead")
            }
            guard let index = header.firstIndex(of: name) else {
                throw NNError.invalidData(
                    source: source,
                    detail: "no column named '\(name)' in the header on line \(line); columns are: \(header.joined(separator: ", "))")
            }
            return index
        }
    }

    private static func isBlank(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        var i = from
        while i < to {
            if b[i] != UInt8(ascii: " ") && b[i] != UInt8(ascii: "\t") && b[i] != UInt8(ascii: "\r") { return false }
            i += 1
        }
        return true
    }

    /// Splits one line into trimmed cell ranges; a cell wrapped in double quotes loses its quotes
    /// (delimiters inside quotes do not split).
    private static func splitCells(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, delimiter: UInt8,
                                   into cells: inout [(Int, Int)], source: String, line: Int) throws {
        cells.removeAll(keepingCapacity: true)
        let quote = UInt8(ascii: "\"")
        var i = from
        while true {
            while i < to && (b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "\t")) && b[i] != delimiter { i += 1 }
            var cellStart = i
            var cellEnd: Int
            if i < to && b[i] == quote {
                cellStart = i + 1
                i += 1
                while i < to && !(b[i] == quote && (i + 1 >= to || b[i + 1] != quote)) {
                    i += b[i] == quote ? 2 : 1  // "" inside quotes is an escaped quote
                }
                guard i < to else {
                    throw NNError.invalidData(source: source, detail: "line \(line): a quoted cell is not closed; add the closing \"")
                }
                cellEnd = i
                i += 1
                while i < to && b[i] != delimiter { i += 1 }
            } else {
                while i < to && b[i] != delimiter { i += 1 }
                cellEnd = i
                while cellEnd > cellStart && (b[cellEnd - 1] == UInt8(ascii: " ") || b[cellEnd - 1] == UInt8(ascii: "\t")) {
                    cellEnd -= 1
                }
            }
            cells.append((cellStart, cellEnd))
            if i >= to { break }
            i += 1  // past the delimiter
        }
    }

    private static func isNumber(_ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        parseNumber(base, from, to) != nil
    }

    /// Parses the whole cell as a number, or nil when any byte of it is not part of one.
    private static func parseNumber(_ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Float? {
        guard to > from else { return nil }
        // strtof skips leading spaces and accepts hex floats; cells are trimmed, and a first byte that
        // cannot start a decimal number ("0x" aside) is rejected up front to keep "nan"-like words out of data.
        let first = base[from]
        let startsNumeric = (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
            || first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
        guard startsNumeric else { return nil }
        return base.withMemoryRebound(to: CChar.self, capacity: to + 1) { chars -> Float? in
            var endPointer: UnsafeMutablePointer<CChar>?
            let value = strtof(chars + from, &endPointer)
            guard let endPointer, endPointer == UnsafeMutablePointer(mutating: chars + to) else { return nil }
            return value
        }
    }
}
