import Foundation

/// A minimal hand-written SVG chart: scatter points and polylines over a linear, whole-number,
/// log₁₀ or categorical x axis and a linear or percent y axis, with round ticks, axis titles and a
/// legend to the right of the plot.
struct SVGChart {
    enum XAxis {
        case linear
        /// A linear axis of whole numbers (epochs): no tick falls between two of them.
        case integers
        case log10
        /// Points sit at index positions labelled with these names.
        case categories([String])
    }

    enum YAxis {
        case linear
        /// The values are fractions, shown as percentages in the tables' spelling ("84 %").
        case percent
    }

    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        /// Lines join the points in order; otherwise each is a dot.
        var connected: Bool
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var xAxis: XAxis
    var yAxis: YAxis = .linear
    var series: [Series]

    static let width = 720.0, height = 440.0
    static let left = 70.0, right = 170.0, top = 40.0, bottom = 60.0
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    func render() -> String {
        let plotW = Self.width - Self.left - Self.right
        let plotH = Self.height - Self.top - Self.bottom
        let allPoints = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!isLog || $0.x > 0) }
        // x range in axis coordinates (log₁₀ of the value for a log axis).
        var (xLo, xHi): (Double, Double)
        switch xAxis {
        case let .categories(names):
            (xLo, xHi) = (-0.5, Double(max(names.count, 1)) - 0.5)
        default:
            let xs = allPoints.map { axisX($0.x) }
            (xLo, xHi) = (xs.min() ?? 0, xs.max() ?? 1)
            if xHi - xLo < 1e-12 { xLo -= 0.5; xHi += 0.5 }
            let pad = 0.04 * (xHi - xLo)
            xLo -= pad; xHi += pad
        }
        let yScale = yScale(allPoints.map { shownY($0.y) })
        func px(_ x: Double) -> Double { Self.left + (axisX(x) - xLo) / (xHi - xLo) * plotW }
        func py(_ y: Double) -> Double { Self.top + (1 - yScale.fraction(shownY(y))) * plotH }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" \
            viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Self.width / 2)" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>
            <rect x="\(Self.left)" y="\(Self.top)" width="\(plotW)" height="\(plotH)" fill="none" stroke="#444"/>

            """
        // y ticks
        for t in yScale.ticks {
            let y = Self.top + (1 - yScale.fraction(t)) * plotH
            let label = yScale.label(t, suffix: yAxis == .percent ? " %" : "")
            svg += "<line x1=\"\(Self.left)\" y1=\"\(f(y))\" x2=\"\(Self.left + plotW)\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>"
            svg += "<text x=\"\(Self.left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(escape(label))</text>\n"
        }
        // x ticks
        let xTicks: [(position: Double, label: String)]
        switch xAxis {
        case .linear, .integers:
            let scale = NiceScale(covering: xLo, xHi, maxTicks: 10, minimumStep: xAxis.isIntegers ? 1 : 0)
            xTicks = scale.ticks.map { ($0, scale.label($0)) }
        case .log10:
            let decades = Int(xLo.rounded(.up))...max(Int(xLo.rounded(.up)), Int(xHi.rounded(.down)))
            if decades.count >= 2 {
                xTicks = decades.map { (Double($0), "1e\($0)") }
            } else {
                xTicks = Self.roundValuesWithin(exponents: xLo, xHi).map { (Foundation.log10($0), formatNumber($0)) }
            }
        case let .categories(names):
            xTicks = names.enumerated().map { (Double($0.offset), $0.element) }
        }
        for (position, label) in xTicks {
            let x = Self.left + (position - xLo) / (xHi - xLo) * plotW
            guard x >= Self.left - 0.5, x <= Self.left + plotW + 0.5 else { continue }
            svg += "<line x1=\"\(f(x))\" y1=\"\(Self.top)\" x2=\"\(f(x))\" y2=\"\(Self.top + plotH)\" stroke=\"#e5e5e5\"/>"
            svg += "<text x=\"\(f(x))\" y=\"\(f(Self.top + plotH + 16))\" text-anchor=\"middle\">\(escape(label))</text>\n"
        }
        svg += "<text x=\"\(Self.left + plotW / 2)\" y=\"\(Self.height - 14)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg += "<text transform=\"translate(18 \(Self.top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (i, s) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            let points = s.points.filter { $0.x.isFinite && $0.y.isFinite && (!isLog || $0.x > 0) }
            if s.connected, points.count > 1 {
                let coordinates = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                svg += "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            }
            for p in points {
                svg += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"\(s.connected ? 2.5 : 4)\" fill=\"\(color)\" fill-opacity=\"0.75\"/>\n"
            }
            let ly = Self.top + 10 + Double(i) * 18
            svg += "<rect x=\"\(Self.left + plotW + 12)\" y=\"\(f(ly - 8))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(Self.left + plotW + 28)\" y=\"\(f(ly + 1))\">\(escape(s.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// The y range snapped to round ticks in the unit shown, a little wider than the data so no
    /// point sits on the frame, and never past 0…100 % for a percentage.
    private func yScale(_ ys: [Double]) -> NiceScale {
        var low = ys.min() ?? 0, high = ys.max() ?? (yAxis == .percent ? 100 : 1)
        let pad = 0.04 * (high - low)
        (low, high) = (low - pad, high + pad)
        if yAxis == .percent { (low, high) = (max(low, 0), min(high, 100)) }
        return NiceScale(covering: low, high)
    }

    private func shownY(_ y: Double) -> Double { yAxis == .percent ? 100 * y : y }

    /// Round values (1, 2 or 5 × 10^k, or every digit when the span is too narrow for three of
    /// those) whose exponents lie in `lo…hi`: ticks for a log axis less than two decades across.
    private static func roundValuesWithin(exponents lo: Double, _ hi: Double) -> [Double] {
        let decades = Int(lo.rounded(.down))...Int(hi.rounded(.up))
        func values(_ mantissas: [Double]) -> [Double] {
            decades.flatMap { k in mantissas.map { $0 * pow(10, Double(k)) } }.filter { (lo...hi).contains(Foundation.log10($0)) }
        }
        let coarse = values([1, 2, 5])
        if coarse.count >= 3 { return coarse }
        let fine = values(Array(1...9).map(Double.init))
        if fine.count >= 2 { return fine }
        // Narrower than one digit step: linear round ticks over the values themselves.
        let scale = NiceScale(covering: pow(10, lo), pow(10, hi))
        return scale.ticks.filter { $0 > 0 && (lo...hi).contains(Foundation.log10($0)) }
    }

    private var isLog: Bool {
        if case .log10 = xAxis { return true }
        return false
    }

    private func axisX(_ x: Double) -> Double { isLog ? Foundation.log10(x) : x }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

private extension SVGChart.XAxis {
    var isIntegers: Bool {
        if case .integers = self { return true }
        return false
    }
}
