import Foundation
import NNTrain

/// The learning curve as a standalone SVG: loss (left) and accuracy (right) per epoch, training in
/// blue and dev in orange, hand-written so it needs no plotting library and opens in any browser.
/// Resumes, rollbacks and hyperparameter changes show as labelled vertical dashed lines.
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

    static func svg(_ history: [EpochMetrics], title: String, markers: [Marker] = []) -> String {
        let width = 2 * panelWidth, height = panelHeight + 30
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
        return out + "</svg>\n"
    }

    private static func panel(x: Double, y: Double, title: String, epochs: [Double], train: [Double], dev: [Double?],
                              percent: Bool, markers: [Marker]) -> String {
        let plotW = panelWidth - margin.left - margin.right
        let plotH = panelHeight - margin.top - margin.bottom
        let x0 = x + margin.left, y0 = y + margin.top
        let values = (train + dev.compactMap { $0 }).filter(\.isFinite)
        var low = values.min() ?? 0, high = values.max() ?? 1
        if percent { low = max(0, low); high = min(1, high) }
        if high - low < 1e-9 { low -= 0.5; high += 0.5 }
        let pad = (high - low) * 0.05
        low -= pad
        high += pad
        let firstEpoch = min(epochs.first ?? 1, markers.map(\.epoch).min() ?? .infinity)
        let lastEpoch = max(epochs.last ?? 1, firstEpoch + 1, markers.map(\.epoch).max() ?? 0)
        func px(_ e: Double) -> Double { x0 + (e - firstEpoch) / (lastEpoch - firstEpoch) * plotW }
        func py(_ v: Double) -> Double { y0 + plotH - (v - low) / (high - low) * plotH }

        var s = "<g>\n<text x=\"\(x0 + plotW / 2)\" y=\"\(y0 - 10)\" text-anchor=\"middle\" font-weight=\"bold\">\(title)</text>\n"
        s += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#888\"/>\n"
        for i in 0...4 {
            let v = low + (high - low) * Double(i) / 4
            let label = percent ? String(format: "%.1f%%", v * 100) : String(format: "%.3g", v)
            s += "<line x1=\"\(x0)\" y1=\"\(py(v))\" x2=\"\(x0 + plotW)\" y2=\"\(py(v))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(x0 - 6)\" y=\"\(py(v) + 4)\" text-anchor=\"end\">\(label)</text>\n"
        }
        for e in epochTicks(first: Int(firstEpoch.rounded(.up)), last: Int(lastEpoch)) {
            s += "<text x=\"\(px(Double(e)))\" y=\"\(y0 + plotH + 16)\" text-anchor=\"middle\">\(e)</text>\n"
        }
        s += "<text x=\"\(x0 + plotW / 2)\" y=\"\(y0 + plotH + 34)\" text-anchor=\"middle\">epoch</text>\n"
        s += polyline(zip(epochs, train).map { (px($0), py($1)) }, colour: trainColour)
        let devPoints = zip(epochs, dev).compactMap { e, v in v.map { (px(e), py($0)) } }
        s += polyline(devPoints, colour: devColour)
        for (i, marker) in markers.enumerated() {
            let mx = px(marker.epoch)
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" ", mx, y0, mx, y0 + plotH)
                + "stroke=\"\(markerColour)\" stroke-width=\"1\" stroke-dasharray=\"4 3\" class=\"marker\"/>"
            // Labels step down so markers close together stay readable.
            let ly = y0 + 12 + Double(i % 6) * 12
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" ", mx + 3, ly)
                + "fill=\"\(markerColour)\">\(escape(marker.label))</text>\n"
        }
        // Loss falls and accuracy rises, so the empty corner is top-right for one, bottom-right for the other.
        let legendY = percent ? y0 + plotH - 22 : y0 + 14
        s += "<line x1=\"\(x0 + plotW - 90)\" y1=\"\(legendY - 4)\" x2=\"\(x0 + plotW - 70)\" y2=\"\(legendY - 4)\" stroke=\"\(trainColour)\" stroke-width=\"2\"/>"
        s += "<text x=\"\(x0 + plotW - 65)\" y=\"\(legendY)\">train</text>\n"
        if !devPoints.isEmpty {
            s += "<line x1=\"\(x0 + plotW - 90)\" y1=\"\(legendY + 12)\" x2=\"\(x0 + plotW - 70)\" y2=\"\(legendY + 12)\" stroke=\"\(devColour)\" stroke-width=\"2\"/>"
            s += "<text x=\"\(x0 + plotW - 65)\" y=\"\(legendY + 16)\">dev</text>\n"
        }
        return s + "</g>\n"
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

    private static func epochTicks(first: Int, last: Int) -> [Int] {
        let span = max(last - first, 1)
        let step = max(1, Int((Double(span) / 8).rounded(.up)))
        return Array(stride(from: first, through: last, by: step))
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
