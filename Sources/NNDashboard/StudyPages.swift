import Foundation
import NNTune

/// The studies list and one study's page: its trials (sortable), the best dev accuracy so far,
/// dev accuracy against each hyperparameter on its natural scale, a parallel-coordinates view, and
/// each coarse-to-fine round's box.
struct StudyPages {
    let catalog: StudyCatalog

    func list() -> String {
        let listing = catalog.studies()
        var rows = ""
        for (id, read) in listing.studies {
            guard let report = try? read.get() else {
                rows += "<tr data-study=\"\(HTML.escape(id))\"><td>\(HTML.escape(id))</td><td colspan=\"4\">cannot be read</td></tr>"
                continue
            }
            let best = report.ranked.first
            rows += """
                <tr data-study="\(HTML.escape(id))"><td><a href="\(HTML.link("/studies/", id))">\(HTML.escape(id))</a></td>\
                <td>\(report.trials.count)</td><td>\(TrialStatus.allCases.map { "\(report.count($0)) \($0.rawValue)" }.joined(separator: ", "))</td>\
                <td>\(report.configuration.sampler.rawValue), \(report.configuration.rounds) round\(report.configuration.rounds == 1 ? "" : "s")</td>\
                <td data-value="\(best?.result?.devAccuracy ?? -1)">\(HTML.percent(best?.result?.devAccuracy))</td></tr>

                """
        }
        let root = HTML.escape(catalog.paths.root)
        var body = catalog.shared.map {
            "<p>Studies under \(root), then those in \(HTML.escape($0.description)) (<code>\(StudyCatalog.sharedPrefix)NAME</code>).</p>"
        } ?? ""
        if let problem = listing.sharedProblem { body += "<p class=\"problem\">\(HTML.escape(problem))</p>" }
        body += listing.studies.isEmpty ? "<p>No studies under \(root) yet: <code>nn tune --root \(root)/tune --study NAME -- --data …</code> makes one.</p>" : """
            <table id="studies-table" class="sortable"><thead><tr><th>study</th><th>trials</th><th>states</th><th>sampler</th>\
            <th>best dev acc</th></tr></thead><tbody>
            \(rows)</tbody></table>
            """
        return HTML.page(title: "Studies", body: body + "<div id=\"live\" data-poll=\"/api/studies\"></div>")
    }

    func page(id: String, report: StudyReport) -> String {
        let space = report.configuration.space
        var head = "<th>trial</th><th>round</th><th>state</th>"
        head += space.names.map { "<th>\(HTML.escape($0))</th>" }.joined()
        head += "<th>dev acc</th><th>train acc</th><th>test acc</th><th>wall s</th>"
        var rows = ""
        for trial in report.trials {
            var row = "<tr data-trial=\"\(trial.id)\" class=\"\(trial.status.rawValue)\"><td data-value=\"\(trial.id)\">\(trial.id)</td>"
            row += "<td data-value=\"\(trial.round + 1)\">\(trial.round + 1)</td><td>\(trial.status.rawValue)</td>"
            for name in space.names {
                let value = trial.assignment[name]
                row += "<td data-value=\"\(HTML.escape(value?.numericValue.map { String($0) } ?? value?.argument ?? ""))\">\(HTML.escape(value.map(SearchBox.format) ?? "–"))</td>"
            }
            let r = trial.result
            row += "<td data-value=\"\(r?.devAccuracy ?? -1)\">\(HTML.percent(r?.devAccuracy))</td>"
            row += "<td data-value=\"\(r?.trainAccuracy ?? -1)\">\(HTML.percent(r?.trainAccuracy))</td>"
            row += "<td data-value=\"\(r?.testAccuracy ?? -1)\">\(HTML.percent(r?.testAccuracy))</td>"
            row += "<td data-value=\"\(trial.wallSeconds ?? -1)\">\(trial.wallSeconds.map { String(format: "%.1f", $0) } ?? "–")</td></tr>\n"
            rows += row
        }
        var boxes = ""
        for (round, box) in report.rounds {
            boxes += "<li>round \(round + 1): " + box.describe(in: space).map(HTML.escape).joined(separator: "; ") + "</li>"
        }
        let plots = report.plots(top: 5).filter { !$0.fileName.hasPrefix("best-so-far") }.map { "<figure>\($0.svg)</figure>" }.joined()
        let best = report.bestSoFarPlot(against: .trials).replacingOccurrences(of: "<svg ", with: "<svg id=\"best-so-far\" ", options: [], range: nil)
            + report.bestSoFarPlot(against: .trialSeconds)
        let version = "\(report.trials.count)-\(report.trials.filter { $0.status == .done || $0.status == .pruned || $0.status == .failed }.count)"
        let body = """
            <p>\(report.trials.count) trials: \(TrialStatus.allCases.map { "\(report.count($0)) \($0.rawValue)" }.joined(separator: ", ")); \
            sampler \(report.configuration.sampler.rawValue), seed \(report.configuration.seed). Pruned trials are marked in the table \
            and dashed in the parallel coordinates. Click a heading to sort.</p>
            <div id="study" data-study="\(HTML.escape(id))" data-version="\(version)">
            <table id="trials-table" class="sortable"><thead><tr>\(head)</tr></thead><tbody>
            \(rows)</tbody></table>
            <h2>Coarse to fine: each round's box</h2><ol class="boxes">\(boxes)</ol>
            <h2>Best so far, against trials and against trial-seconds</h2><figure class="plots">\(best)</figure>
            <h2>Every hyperparameter against dev accuracy</h2>
            <figure>\(ParallelCoordinates(report: report).render())</figure>
            <div class="plots">\(plots)</div>
            </div>
            """
        return HTML.page(title: "Study \(report.name)", body: body)
    }

    func json(id: String, report: StudyReport) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(try report.json(top: report.trials.count).utf8)) as? [String: Any] ?? [:]
        var out = object
        out["id"] = id
        out["trials"] = report.trials.map { t -> [String: Any] in
            var o: [String: Any] = ["trial": t.id, "round": t.round + 1, "status": t.status.rawValue,
                                    "params": t.assignment.mapValues { $0.numericValue.map { $0 as Any } ?? $0.argument }]
            if let r = t.result { o["devAccuracy"] = r.devAccuracy; o["testAccuracy"] = r.testAccuracy ?? NSNull() }
            return o
        }
        out["version"] = "\(report.trials.count)-\(report.trials.filter { $0.status != .pending && $0.status != .running }.count)"
        return out
    }

    func listJSON() -> [String: Any] {
        let listing = catalog.studies()
        var object: [String: Any] = ["studies": listing.studies.map { id, read -> [String: Any] in
            let report = try? read.get()
            return ["id": id, "trials": report?.trials.count ?? 0, "best_dev_accuracy": report?.ranked.first?.result?.devAccuracy ?? NSNull()]
        }]
        if let problem = listing.sharedProblem { object["shared_problem"] = problem }
        return object
    }
}

/// One vertical axis per hyperparameter, on the scale its distribution declares (log for rates,
/// 1 − β for momentum-like parameters, categories for choices), and a last axis for dev accuracy;
/// each trial is a line across them, coloured from red (worst) to green (best); pruned trials dashed.
struct ParallelCoordinates {
    let report: StudyReport

    func render() -> String {
        let entries = report.configuration.space.entries
        let width = max(480.0, Double(entries.count + 1) * 110), height = 320.0
        let top = 40.0, bottom = 40.0, left = 50.0, right = 50.0
        let columns = Double(entries.count)
        func x(_ i: Int) -> Double { left + (columns == 0 ? 0 : Double(i) / columns) * (width - left - right) }
        let plotH = height - top - bottom
        let finished = report.trials.filter { $0.status == .done || $0.status == .pruned }
        let accuracies = finished.compactMap { $0.result?.devAccuracy }
        let accuracyScale = NiceScale(covering: (accuracies.min() ?? 0) * 100, (accuracies.max() ?? 1) * 100, maxTicks: 5)

        var svg = "<svg id=\"parallel-coordinates\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
            + "width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        // Each axis maps a search coordinate to [0, 1] from bottom to top.
        var position: [(ParameterValue) -> Double?] = []
        for (i, entry) in entries.enumerated() {
            let d = entry.distribution
            var label = entry.name
            var ticks: [(Double, String)] = []
            switch d.fullBounds {
            case let .interval(low, high):
                let span = high - low
                position.append { v in d.coordinate(of: v).map { span > 0 ? ($0 - low) / span : 0.5 } }
                // The axis shows the quantity it is uniform in: 1 − β for momentum-like parameters.
                var shown = { (c: Double) in SearchBox.format(d.value(atCoordinate: c)) }
                if case .oneMinusLogUniform = d {
                    label = "1 − \(entry.name) (log)"
                    shown = { c in SearchBox.format(.real(pow(10, c))) }
                } else if d.isLogarithmic {
                    label += " (log)"
                }
                ticks = [(0, shown(low)), (1, shown(high))]
            case let .options(indices):
                let count = Double(max(indices.count - 1, 1))
                position.append { v in d.coordinate(of: v).map { indices.count == 1 ? 0.5 : $0 / count } }
                if case let .choice(values) = d {
                    ticks = values.enumerated().map { (values.count == 1 ? 0.5 : Double($0.offset) / count, $0.element.argument) }
                }
            }
            svg += axis(x: x(i), top: top, height: plotH, label: label, ticks: ticks)
        }
        svg += axis(x: x(entries.count), top: top, height: plotH, label: "dev accuracy",
                    ticks: accuracyScale.ticks.map { (accuracyScale.fraction($0), accuracyScale.label($0, suffix: " %")) })
        let low = accuracies.min() ?? 0, high = accuracies.max() ?? 1
        for trial in finished {
            var points: [String] = []
            for (i, entry) in entries.enumerated() {
                guard let value = trial.assignment[entry.name], let p = position[i](value) else { continue }
                points.append(String(format: "%.1f,%.1f", x(i), top + (1 - p) * plotH))
            }
            var colour = "#999"
            if let a = trial.result?.devAccuracy {
                points.append(String(format: "%.1f,%.1f", x(entries.count), top + (1 - accuracyScale.fraction(a * 100)) * plotH))
                let t = high > low ? (a - low) / (high - low) : 1
                colour = String(format: "rgb(%d,%d,60)", Int(200 * (1 - t)), Int(60 + 140 * t))
            }
            let dash = trial.status == .pruned ? " stroke-dasharray=\"4 3\"" : ""
            svg += "<polyline class=\"trial \(trial.status.rawValue)\" data-trial=\"\(trial.id)\" points=\"\(points.joined(separator: " "))\" "
                + "fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" stroke-opacity=\"0.8\"\(dash)><title>trial \(trial.id): "
                + "\(HTML.percent(trial.result?.devAccuracy))</title></polyline>\n"
        }
        return svg + "</svg>\n"
    }

    private func axis(x: Double, top: Double, height: Double, label: String, ticks: [(Double, String)]) -> String {
        var s = String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>", x, top, x, top + height)
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-weight=\"bold\">", x, top - 14) + HTML.escape(label) + "</text>"
        for (fraction, text) in ticks {
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">", x + 4, top + (1 - fraction) * height + 3) + HTML.escape(text) + "</text>"
        }
        return s + "\n"
    }
}
