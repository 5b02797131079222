import Foundation
import NNTune

/// A server-rendered SVG line chart of per-epoch values: round ticks (``NiceScale``), whole epochs,
/// accuracy in percent, an optional second quantity (the learning rate) on a right-hand axis, and
/// numbered dashed markers for resumes and rollbacks whose full text is in their tooltip. Every data
/// point is a `circle.point`, so a page (and a test) can count them.
struct LineChart {
    struct Series {
        var name: String
        var colour: String
        var dashed = false
        var points: [(x: Double, y: Double)]
    }

    var id: String
    var yLabel: String
    var percent: Bool
    var series: [Series]
    /// Plotted against the right-hand axis, in grey.
    var secondary: Series?
    var markers: [(epoch: Double, label: String)] = []

    static let width = 560.0, height = 300.0
    static let left = 64.0, right = 64.0, top = 30.0, bottom = 42.0
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    func render() -> String {
        let plotW = Self.width - Self.left - Self.right, plotH = Self.height - Self.top - Self.bottom
        let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xs = finite.map(\.x) + markers.map(\.epoch)
        let xScale = NiceScale(covering: xs.min() ?? 1, xs.max() ?? 2, maxTicks: 10, minimumStep: 1)
        let unit = percent ? 100.0 : 1
        var yScale = NiceScale(covering: (finite.map(\.y).min() ?? 0) * unit, (finite.map(\.y).max() ?? 1) * unit)
        if percent, yScale.upper > 100 { yScale = NiceScale(covering: min(yScale.lower, 99), 100) }
        func px(_ x: Double) -> Double { Self.left + xScale.fraction(x) * plotW }
        func py(_ y: Double) -> Double { Self.top + (1 - yScale.fraction(y * unit)) * plotH }

        var svg = """
            <svg class="curve" id="\(HTML.escape(id))" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" \
            width="\(Int(Self.width))" height="\(Int(Self.height))" font-family="sans-serif" font-size="12">
            <rect x="\(Self.left)" y="\(Self.top)" width="\(plotW)" height="\(plotH)" fill="white" stroke="#999"/>

            """
        for tick in yScale.ticks {
            let y = f(Self.top + (1 - yScale.fraction(tick)) * plotH)
            svg += "<line x1=\"\(Self.left)\" y1=\"\(y)\" x2=\"\(Self.left + plotW)\" y2=\"\(y)\" stroke=\"#eee\"/>"
            svg += "<text class=\"y-tick\" x=\"\(Self.left - 6)\" y=\"\(y)\" dy=\"4\" text-anchor=\"end\">\(yScale.label(tick, suffix: percent ? " %" : ""))</text>\n"
        }
        for tick in xScale.ticks {
            let x = f(px(tick))
            svg += "<text class=\"x-tick\" x=\"\(x)\" y=\"\(Self.top + plotH + 16)\" text-anchor=\"middle\">\(xScale.label(tick))</text>\n"
        }
        svg += "<text x=\"\(Self.left + plotW / 2)\" y=\"\(Self.height - 6)\" text-anchor=\"middle\">epoch</text>\n"
        svg += "<text transform=\"translate(14 \(Self.top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">\(HTML.escape(yLabel))</text>\n"

        if let secondary, let values = Optional(secondary.points.map(\.y).filter(\.isFinite)), let high = values.max(), high > 0 {
            let scale = NiceScale(covering: 0, high, maxTicks: 5)
            func sy(_ y: Double) -> Double { Self.top + (1 - scale.fraction(y)) * plotH }
            for tick in scale.ticks {
                svg += "<text class=\"y2-tick\" x=\"\(Self.left + plotW + 6)\" y=\"\(f(sy(tick)))\" dy=\"4\" fill=\"#888\">\(scale.label(tick))</text>\n"
            }
            svg += "<text transform=\"translate(\(Self.width - 10) \(Self.top + plotH / 2)) rotate(90)\" text-anchor=\"middle\" fill=\"#888\">\(HTML.escape(secondary.name))</text>\n"
            let coordinates = secondary.points.filter { $0.y.isFinite }.map { "\(f(px($0.x))),\(f(sy($0.y)))" }
            svg += "<polyline class=\"secondary\" points=\"\(coordinates.joined(separator: " "))\" fill=\"none\" stroke=\"#aaa\" stroke-dasharray=\"2 3\"/>\n"
        }
        for (index, marker) in markers.enumerated() {
            let x = f(px(marker.epoch))
            svg += "<g class=\"marker\"><title>\(HTML.escape(marker.label))</title>"
            svg += "<line x1=\"\(x)\" y1=\"\(Self.top)\" x2=\"\(x)\" y2=\"\(Self.top + plotH)\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>"
            svg += "<text x=\"\(x)\" y=\"\(Self.top - 4)\" text-anchor=\"middle\" font-size=\"10\">\(index + 1)</text></g>\n"
        }
        for s in series {
            let points = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            let coordinates = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }
            let dash = s.dashed ? " stroke-dasharray=\"6 3\"" : ""
            svg += "<g class=\"series\" data-name=\"\(HTML.escape(s.name))\">"
            svg += "<polyline points=\"\(coordinates.joined(separator: " "))\" fill=\"none\" stroke=\"\(s.colour)\" stroke-width=\"2\"\(dash)/>"
            for p in points {
                svg += "<circle class=\"point\" cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(s.colour)\">"
                svg += "<title>\(HTML.escape(s.name)), epoch \(Int(p.x)): \(percent ? String(format: "%.2f %%", p.y * 100) : String(format: "%.4g", p.y))</title></circle>"
            }
            svg += "</g>\n"
        }
        // The legend sits above the plot, where no curve or marker can cover it.
        var legendX = Self.left
        for s in series + (secondary.map { [$0] } ?? []) {
            let colour = s.name == secondary?.name ? "#aaa" : s.colour
            svg += "<rect x=\"\(f(legendX))\" y=\"8\" width=\"10\" height=\"10\" fill=\"\(colour)\"/>"
            svg += "<text x=\"\(f(legendX + 14))\" y=\"17\">\(HTML.escape(s.name))</text>\n"
            legendX += 24 + Double(s.name.count) * 6.6
        }
        return svg + "</svg>\n"
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
