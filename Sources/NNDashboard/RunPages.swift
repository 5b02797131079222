import Foundation

/// The runs list, one run's page with its live curves, and several runs overlaid.
struct RunPages {
    let catalog: RunCatalog

    // MARK: List

    func list() -> String {
        let runs = catalog.runs()
        var rows = ""
        for run in runs {
            let epochs = run.epochs
            let summary = run.summary
            let settings = run.settings
            let best = summary?["best_epoch"] as? Int
            let bestDev = summary?["best_dev_accuracy"] as? Double ?? summary?["dev_accuracy"] as? Double
            let test = summary?["best_test_accuracy"] as? Double ?? summary?["test_accuracy"] as? Double
            let lastDev = epochs.last?["dev_accuracy"] as? Double
            let total = settings["epochs"] ?? "?"
            rows += """
                <tr data-run="\(HTML.escape(run.id))">\
                <td><input type="checkbox" class="compare" value="\(HTML.escape(run.id))"></td>\
                <td><a href="\(HTML.link("/runs/", run.id))">\(HTML.escape(run.id))</a></td>\
                <td class="status \(run.status.rawValue.replacingOccurrences(of: " ", with: "-"))">\(run.status.rawValue)</td>\
                <td>\(HTML.escape(settings["data"] ?? "–"))</td>\
                <td>\(HTML.escape(settings["layers"] ?? "–"))</td>\
                <td>\(HTML.escape(settings["optimizer"] ?? "–")) \(HTML.escape(settings["lr"] ?? ""))</td>\
                <td data-value="\(epochs.count)">\(epochs.count) / \(HTML.escape(total))</td>\
                <td data-value="\(lastDev ?? -1)">\(HTML.percent(lastDev))</td>\
                <td data-value="\(best ?? -1)">\(best.map(String.init) ?? "–")</td>\
                <td data-value="\(bestDev ?? -1)">\(HTML.percent(bestDev))</td>\
                <td data-value="\(test ?? -1)">\(HTML.percent(test))</td>\
                <td>\(run.updated.map(Self.time) ?? "–")</td></tr>

                """
        }
        let body = runs.isEmpty ? "<p>No runs under \(HTML.escape(catalog.paths.root)) yet: <code>nn train --out \(HTML.escape(catalog.paths.root))/NAME</code> makes one.</p>" : """
            <p>\(runs.count) run\(runs.count == 1 ? "" : "s") under <code>\(HTML.escape(catalog.paths.root))</code>. \
            Tick two or more and <button id="compare-button">compare</button>. Click a heading to sort.</p>
            <table id="runs-table" class="sortable"><thead><tr><th></th><th>run</th><th>status</th><th>data</th><th>layers</th>\
            <th>optimizer, α₀</th><th>epochs</th><th>dev acc (last)</th><th>best epoch</th><th>best dev acc</th><th>test acc (best/)</th>\
            <th>updated</th></tr></thead>
            <tbody>
            \(rows)</tbody></table>
            """
        return HTML.page(title: "Runs", body: body + "<div id=\"live\" data-poll=\"/api/runs\"></div>")
    }

    // MARK: One run

    func page(_ run: RunRecord) -> String {
        let settings = run.settings
        let summary = run.summary
        var facts = "<table class=\"facts\"><tr><th>status</th><td class=\"status\">\(run.status.rawValue)</td></tr>"
        for key in ["data", "layers", "batchnorm", "dropout", "optimizer", "lr", "schedule", "batch", "epochs", "l2", "seed"] {
            if let value = settings[key] { facts += "<tr><th>\(key)</th><td>\(HTML.escape(value))</td></tr>" }
        }
        if let summary {
            facts += "<tr><th>final (epoch \(summary["epochs"] as? Int ?? 0))</th><td>train \(HTML.percent(summary["train_accuracy"] as? Double)), "
                + "dev \(HTML.percent(summary["dev_accuracy"] as? Double)), test \(HTML.percent(summary["test_accuracy"] as? Double))</td></tr>"
            if let best = summary["best_epoch"] as? Int {
                facts += "<tr><th>best/ (epoch \(best))</th><td>train \(HTML.percent(summary["best_train_accuracy"] as? Double)), "
                    + "dev \(HTML.percent(summary["best_dev_accuracy"] as? Double)), test \(HTML.percent(summary["best_test_accuracy"] as? Double))</td></tr>"
            }
        }
        facts += "</table>"
        let body = """
            \(facts)
            <div id="charts" data-run="\(HTML.escape(run.id))" data-version="\(HTML.escape(Self.version(run)))">
            \(charts(run))
            </div>
            """
        return HTML.page(title: "Run \(run.id)", body: body)
    }

    /// The live part of a run's page: both charts, the markers' list and the bias/variance reading.
    func charts(_ run: RunRecord) -> String {
        let series = run.series
        let markers = run.markers
        let loss = LineChart(id: "loss-chart", yLabel: "loss", percent: false, series: [
            .init(name: "train loss", colour: LineChart.palette[0], points: series("train_loss")),
            .init(name: "dev loss", colour: LineChart.palette[1], points: series("dev_loss")),
        ], secondary: .init(name: "learning rate", colour: "#aaa", points: series("learning_rate")), markers: markers)
        let accuracy = LineChart(id: "accuracy-chart", yLabel: "accuracy (%)", percent: true, series: [
            .init(name: "train accuracy", colour: LineChart.palette[0], points: series("train_accuracy")),
            .init(name: "dev accuracy", colour: LineChart.palette[1], points: series("dev_accuracy")),
        ], markers: markers)
        var html = "<div class=\"charts\">\(loss.render())\(accuracy.render())</div>"
        if !markers.isEmpty {
            html += "<ol class=\"markers\">" + markers.map { "<li>\(HTML.escape($0.label))</li>" }.joined() + "</ol>"
        }
        html += "<p class=\"diagnosis\">\(HTML.escape(Self.reading(run)))</p>"
        return html
    }

    /// The bias/variance reading: the run's own when it finished, else one from its latest epoch.
    static func reading(_ run: RunRecord) -> String {
        guard let last = run.epochs.last, let train = last["train_accuracy"] as? Double, let dev = last["dev_accuracy"] as? Double else {
            return "Bias/variance: needs a dev set and one finished epoch."
        }
        let bayes = Double(run.settings["bayes-error"] ?? "") ?? 0
        let bias = (1 - train) - bayes, variance = train - dev
        let finding = run.summary?["diagnosis"] as? String
        return String(format: "Bias/variance after epoch %d: avoidable bias %.1f pp (train error %.1f %% against a Bayes error of %.1f %%), "
                      + "variance %.1f pp (dev error %.1f %%)", last["epoch"] as? Int ?? 0, bias * 100, (1 - train) * 100, bayes * 100,
                      variance * 100, (1 - dev) * 100) + (finding.map { "; the run's reading: \($0)" } ?? "") + "."
    }

    /// Changes whenever the run's files do, so a page polls a few bytes and redraws only then.
    static func version(_ run: RunRecord) -> String {
        let stamp = run.updated?.timeIntervalSince1970 ?? 0
        return "\(run.epochs.count)-\(Int(stamp * 1000))"
    }

    // MARK: Several runs

    func compare(_ runs: [RunRecord]) -> String {
        var dev: [LineChart.Series] = [], loss: [LineChart.Series] = []
        for (i, run) in runs.enumerated() {
            let colour = LineChart.palette[i % LineChart.palette.count]
            dev.append(.init(name: "\(run.id) dev", colour: colour, points: run.series("dev_accuracy")))
            dev.append(.init(name: "\(run.id) train", colour: colour, dashed: true, points: run.series("train_accuracy")))
            loss.append(.init(name: "\(run.id) dev", colour: colour, points: run.series("dev_loss")))
        }
        let body = """
            <p>\(runs.map { "<a href=\"\(HTML.link("/runs/", $0.id))\">\(HTML.escape($0.id))</a>" }.joined(separator: ", ")) \
            (solid: dev, dashed: train)</p>
            <div class="charts">\(LineChart(id: "accuracy-chart", yLabel: "accuracy (%)", percent: true, series: dev).render())\
            \(LineChart(id: "loss-chart", yLabel: "dev loss", percent: false, series: loss).render())</div>
            """
        return HTML.page(title: "Compare \(runs.count) runs", body: body)
    }

    static func time(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    // MARK: JSON

    func json(_ run: RunRecord) -> [String: Any] {
        var object: [String: Any] = ["id": run.id, "status": run.status.rawValue, "epochs": run.epochs, "settings": run.settings,
                                     "markers": run.markers.map { ["epoch": $0.epoch, "label": $0.label] }, "version": Self.version(run)]
        if let summary = run.summary { object["summary"] = summary }
        return object
    }

    func listJSON() -> [String: Any] {
        ["runs": catalog.runs().map { run -> [String: Any] in
            let summary = run.summary ?? [:]
            return ["id": run.id, "status": run.status.rawValue, "epochs": run.epochs.count, "version": Self.version(run),
                    "best_epoch": summary["best_epoch"] ?? NSNull(), "best_dev_accuracy": summary["best_dev_accuracy"] ?? NSNull()]
        }]
    }
}
