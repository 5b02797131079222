import Foundation
import NNTrain
import NNTune

/// The learning curve as a standalone SVG: loss (left) and accuracy (right) per epoch, training in
/// blue and dev in orange, hand-written so it needs no plotting library and opens in any browser.
/// Resumes, rollbacks and hyperparameter changes show as numbered vertical dashed lines, their
/// labels listed under the panels.
enum LearningCurve {
    /// A labelled vertical dashed line at a (fractional) epoch.
    struct Marker: Equatable {
        var epoch: Double
        var label: String
    }

    static let markerColour = "#555"

    static let panelWidth = 420.0, panelHeight = 300.0
    static let margin = (left: 60.0, right: 20.0, top: 40.0, bottom: 45.0)
    static let trainColour = "#1f77b4", devColour = "#ff7f0e"
    /// Marker notes: one line each below the panels, in this font size.
    static let noteSize = 11.0, noteSpacing = 15.0

    static func svg(_ history: [EpochMetrics], title: String, markers: [Marker] = []) -> String {
        // The markers are numbered in epoch order, so tags read 1, 2, 3 left to right.
        let markers = markers.enumerated().sorted { ($0.element.epoch, $0.offset) < ($1.element.epoch, $1.offset) }.map(\.element)
        let width = 2 * panelWidth
        let notesTop = 24 + panelHeight + 12
        let height = markers.isEmpty ? panelHeight + 30 : notesTop + Double(markers.count) * noteSpacing
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="18" text-anchor="middle" font-size="14">\(escape(title))</text>

            """
        let epochs = history.map { Double($0.epoch) }
        out += panel(x: 0, y: 24, title: "loss", epochs: epochs,
                     train: history.map(\.trainLoss), dev: history.map(\.devLoss), percent: false, markers: markers)
        out += panel(x: panelWidth, y: 24, title: "accuracy", epochs: epochs,
                     train: history.map(\.trainAccuracy), dev: history.map(\.devAccuracy), percent: true, markers: markers)
        for (i, marker) in markers.enumerated() {
            out += note(number: i + 1, label: marker.label, y: notesTop + Double(i) * noteSpacing, width: width)
        }
        return out + "</svg>\n"
    }

    /// A marker's label under the panels, after the number its tag shows on the plots. However long
    /// the `--set` changes run, the line is cut with an ellipsis to stay on the canvas; the whole
    /// label stays in the file as the note's tooltip.
    private static func note(number: Int, label: String, y: Double, width: Double) -> String {
        let x = 20.0
        // 0.55 em a character is above the sans-serif average, so the cut errs towards room.
        let room = Int((width - 2 * x) / (0.55 * noteSize)) - "\(number) ".count
        let shown = label.count <= room ? label : label.prefix(max(room - 1, 0)).trimmingCharacters(in: .whitespaces) + "…"
        return "<g class=\"marker-note\"><title>\(escape(label))</title>"
            + String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%g\" ", x, y, noteSize)
            + "fill=\"\(markerColour)\"><tspan font-weight=\"bold\">\(number)</tspan> \(escape(shown))</text></g>\n"
    }

    private static func panel(x: Double, y: Double, title: String, epochs: [Double], train: [Double], dev: [Double?],
                              percent: Bool, markers: [Marker]) -> String {
        let plotW = panelWidth - margin.left - margin.right
        let plotH = panelHeight - margin.top - margin.bottom
        let x0 = x + margin.left, y0 = y + margin.top
        // Accuracy is drawn and labelled in percent, the unit the console and tables use.
        let unit = percent ? 100.0 : 1.0
        let values = (train + dev.compactMap { $0 }).map { $0 * unit }.filter(\.isFinite)
        var low = values.min() ?? 0, high = values.max() ?? unit
        let pad = (high - low) * 0.04
        (low, high) = (max(0, low - pad), high + pad)
        if percent { high = min(100, high) }
        let scale = NiceScale(covering: low, high)
        let firstEpoch = min(epochs.first ?? 1, markers.map(\.epoch).min() ?? .infinity)
        let lastEpoch = max(epochs.last ?? 1, firstEpoch + 1, markers.map(\.epoch).max() ?? 0)
        func px(_ e: Double) -> Double { x0 + (e - firstEpoch) / (lastEpoch - firstEpoch) * plotW }
        func py(_ v: Double) -> Double { y0 + plotH - scale.fraction(v * unit) * plotH }

        // The title sits at the left, the legend at the right of the band above the plot.
        var s = "<g>\n<text x=\"\(x0)\" y=\"\(y0 - 10)\" font-weight=\"bold\">\(title)</text>\n"
        s += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#888\"/>\n"
        for tick in scale.ticks {
            let ty = y0 + plotH - scale.fraction(tick) * plotH
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>", x0, ty, x0 + plotW, ty)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", x0 - 6, ty + 4)
                + "\(scale.label(tick, suffix: percent ? " %" : ""))</text>\n"
        }
        let epochScale = NiceScale(covering: firstEpoch, lastEpoch, maxTicks: 12, minimumStep: 1)
        for e in epochScale.ticks where e >= firstEpoch && e <= lastEpoch {
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", px(e), y0 + plotH + 16)
                + "\(epochScale.label(e))</text>\n"
        }
        s += "<text x=\"\(x0 + plotW / 2)\" y=\"\(y0 + plotH + 34)\" text-anchor=\"middle\">epoch</text>\n"
        s += polyline(zip(epochs, train).map { (px($0), py($1)) }, colour: trainColour)
        let devPoints = zip(epochs, dev).compactMap { e, v in v.map { (px(e), py($0)) } }
        s += polyline(devPoints, colour: devColour)
        s += markerTags(markers.map { px($0.epoch) }, top: y0, bottom: y0 + plotH, right: x0 + plotW)
        s += legend(right: x0 + plotW, baseline: y0 - 10, withDev: !devPoints.isEmpty)
        return s + "</g>\n"
    }

    /// Each marker's dashed line with its number at the top of the plot, on the side of the line
    /// with room, and a row lower when it would touch an earlier tag; the label itself is a note
    /// under the panels, where any length fits.
    private static func markerTags(_ xs: [Double], top: Double, bottom: Double, right: Double) -> String {
        var s = ""
        var placed: [(minX: Double, maxX: Double, row: Int)] = []
        let size = 10.0, rowHeight = 12.0
        for (i, mx) in xs.enumerated() {
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" ", mx, top, mx, bottom)
                + "stroke=\"\(markerColour)\" stroke-width=\"1\" stroke-dasharray=\"4 3\" class=\"marker\"/>"
            let text = "\(i + 1)", tagWidth = Double(text.count) * 0.6 * size + 4
            let onRight = mx + 2 + tagWidth <= right
            let minX = onRight ? mx + 1 : mx - 1 - tagWidth
            let rows = Int((bottom - top) / rowHeight) - 1
            let row = (0..<rows).first { r in
                !placed.contains { $0.row == r && $0.minX < minX + tagWidth && minX < $0.maxX }
            } ?? i % max(rows, 1)
            placed.append((minX, minX + tagWidth, row))
            let baseline = top + rowHeight + Double(row) * rowHeight
            // A white backing keeps the number legible where it crosses a curve.
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" fill-opacity=\"0.85\"/>",
                        minX, baseline - size, tagWidth, size + 2)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%g\" font-weight=\"bold\" ",
                        minX + tagWidth / 2, baseline, size)
                + "fill=\"\(markerColour)\" class=\"marker-tag\">\(text)</text>\n"
        }
        return s
    }

    /// The key sits above the plot's top-right corner, across from the panel title: outside the
    /// plot it can cover neither a curve nor a marker tag, whichever way the curves run.
    private static func legend(right: Double, baseline: Double, withDev: Bool) -> String {
        var entries = [("train", trainColour)]
        if withDev { entries.append(("dev", devColour)) }
        var s = ""
        var x = right
        for (name, colour) in entries.reversed() {
            x -= Double(name.count) * 7
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\">", x, baseline) + "\(name)</text>"
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" ", x - 22, baseline - 4, x - 4, baseline - 4)
                + "stroke=\"\(colour)\" stroke-width=\"2\"/>"
            x -= 32
        }
        return s + "\n"
    }

    private static func polyline(_ points: [(Double, Double)], colour: String) -> String {
        let finite = points.filter { $0.0.isFinite && $0.1.isFinite }
        guard !finite.isEmpty else { return "" }
        let coordinates = finite.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
        var s = "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(coordinates)\"/>\n"
        for (px, py) in finite {
            s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" ", px, py) + "fill=\"\(colour)\"/>"
        }
        return s + "\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
