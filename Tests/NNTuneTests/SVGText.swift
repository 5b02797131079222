import Foundation
import XCTest

/// The `<text>` elements of a hand-written SVG with the boxes they cover, estimated from the font
/// size the way a reader's renderer would lay them out: about 0.55 em a character (6.6 px at 12 px,
/// 5.5 px at 10 px), 0.8 em above the baseline and 0.25 em below. Rough, but it is the same
/// estimate for every label, so an overlap or a label past the edge shows up in it.
struct SVGDocument {
    struct Box {
        var minX, maxX, minY, maxY: Double
        func intersects(_ other: Box) -> Bool {
            minX < other.maxX && other.minX < maxX && minY < other.maxY && other.minY < maxY
        }
    }

    struct Text {
        var attributes: [String: String]
        /// The characters shown, entities decoded and nested `<tspan>` tags dropped.
        var content: String
        var fontSize: Double
        var x: Double? { attributes["x"].flatMap(Double.init) }
        var y: Double? { attributes["y"].flatMap(Double.init) }
        var anchor: String { attributes["text-anchor"] ?? "start" }

        /// Nil for text placed by a transform (the rotated y-axis title), which has no x of its own.
        var box: Box? {
            guard let x, let y else { return nil }
            let width = Double(content.count) * 0.55 * fontSize
            let minX = anchor == "middle" ? x - width / 2 : anchor == "end" ? x - width : x
            return Box(minX: minX, maxX: minX + width, minY: y - 0.8 * fontSize, maxY: y + 0.25 * fontSize)
        }
    }

    let width: Double
    let height: Double
    let texts: [Text]

    init(_ svg: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let root = try XCTUnwrap(Self.matches(of: #"<svg\b([^>]*)>"#, in: svg).first, "no <svg> element", file: file, line: line)
        let rootAttributes = Self.attributes(root[1])
        width = try XCTUnwrap(rootAttributes["width"].flatMap(Double.init), file: file, line: line)
        height = try XCTUnwrap(rootAttributes["height"].flatMap(Double.init), file: file, line: line)
        let defaultSize = rootAttributes["font-size"].flatMap(Double.init) ?? 16
        texts = Self.matches(of: #"<text\b([^>]*)>(.*?)</text>"#, in: svg).map { match in
            let attributes = Self.attributes(match[1])
            let shown = match[2].replacingOccurrences(of: #"<[^>]*>"#, with: "", options: .regularExpression)
            return Text(attributes: attributes, content: Self.unescape(shown),
                        fontSize: attributes["font-size"].flatMap(Double.init) ?? defaultSize)
        }
    }

    /// Columns of right-aligned labels sharing one x (three or more): the y-axis ticks, left to right.
    var yTickColumns: [[Text]] {
        Dictionary(grouping: texts.filter { $0.anchor == "end" && $0.x != nil }) { $0.x ?? 0 }
            .filter { $0.value.count >= 3 }.sorted { $0.key < $1.key }.map(\.value)
    }

    /// Rows of centred numbers sharing one y (two or more): the x-axis ticks, top to bottom.
    var xTickRows: [[Text]] {
        Dictionary(grouping: texts.filter { $0.anchor == "middle" && $0.y != nil && Double($0.content) != nil }) { $0.y ?? 0 }
            .filter { $0.value.count >= 2 }.sorted { $0.key < $1.key }.map(\.value)
    }

    /// Every positioned label lies inside the canvas, and no two labels cover the same spot.
    func assertReadable(file: StaticString = #filePath, line: UInt = #line) {
        let boxed = texts.compactMap { text in text.box.map { (text, $0) } }
        for (text, box) in boxed {
            XCTAssertTrue(box.minX >= 0 && box.maxX <= width && box.minY >= 0 && box.maxY <= height,
                          "\"\(text.content)\" spans x \(Int(box.minX))…\(Int(box.maxX)), y \(Int(box.minY))…\(Int(box.maxY)) "
                          + "on a \(Int(width))×\(Int(height)) canvas", file: file, line: line)
        }
        for i in boxed.indices {
            for j in boxed.indices where j > i && boxed[i].1.intersects(boxed[j].1) {
                XCTFail("\"\(boxed[i].0.content)\" overlaps \"\(boxed[j].0.content)\"", file: file, line: line)
            }
        }
    }

    private static func matches(of pattern: String, in text: String) -> [[String]] {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]) else { return [] }
        let ns = text as NSString
        return regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { match in
            (0..<match.numberOfRanges).map { match.range(at: $0).location == NSNotFound ? "" : ns.substring(with: match.range(at: $0)) }
        }
    }

    private static func attributes(_ text: String) -> [String: String] {
        Dictionary(matches(of: #"([\w:-]+)="([^"]*)""#, in: text).map { ($0[1], unescape($0[2])) }) { first, _ in first }
    }

    private static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// Asserts that `labels` (tick labels, in axis order) read as consecutive multiples of one round
/// step, 1, 2 or 5 × 10^k, after `suffix` is removed; returns the values.
@discardableResult
func assertRoundTicks(_ labels: [String], suffix: String = "", file: StaticString = #filePath, line: UInt = #line) -> [Double] {
    var values: [Double] = []
    for label in labels {
        guard label.hasSuffix(suffix), let value = Double(label.dropLast(suffix.count)) else {
            XCTFail("tick \"\(label)\" is not a number followed by \"\(suffix)\"", file: file, line: line)
            return []
        }
        values.append(value)
    }
    guard values.count >= 2 else {
        XCTFail("only \(values.count) ticks: \(labels)", file: file, line: line)
        return values
    }
    // One failure per axis, naming the labels, rather than one per tick.
    let step = abs(values[1] - values[0])
    let mantissa = step / pow(10, log10(step).rounded(.down))
    let roundStep = [1.0, 2, 5, 10].contains { abs(mantissa - $0) < 1e-6 }
    let even = zip(values, values.dropFirst()).allSatisfy { abs(abs($1 - $0) - step) <= step * 1e-6 }
    let onGrid = values.allSatisfy { abs($0 / step - ($0 / step).rounded()) < 1e-6 }
    XCTAssertTrue(roundStep && even && onGrid,
                  "ticks \(labels) are not consecutive multiples of a step of 1, 2 or 5 × 10^k", file: file, line: line)
    return values
}
