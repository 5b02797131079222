import Foundation

/// What a study found: its rounds' boxes, its best trials as a table or JSON, and SVG plots of dev
/// accuracy against each hyperparameter and of the best trials' learning curves.
public struct StudyReport {
    /// The study's name.
    public let name: String
    /// The study's definition.
    public let configuration: StudyConfiguration
    /// Each round and its search box.
    public let rounds: [(round: Int, box: SearchBox)]
    /// Every trial.
    public let trials: [TrialRecord]

    /// Reads the study from `store`. Without `epochs`, the per-epoch records (most of a study's data:
    /// each holds its metrics line) are left out, and with them the learning curves and the
    /// trial-seconds saved by pruning: enough for a listing of studies.
    public init(name: String, store: StudyStore, epochs: Bool = true) throws {
        guard let configuration = try store.configuration() else {
            throw TuneError.invalidStudy(name: name, detail: "\(store.path) holds no study configuration")
        }
        self.name = name
        self.configuration = configuration
        self.rounds = try store.rounds()
        self.trials = try store.trials()
        self.epochsByTrial = epochs ? try store.epochsByTrial() : [:]
    }

    private let epochsByTrial: [Int: [EpochRecord]]

    /// Removes from a reproduction command's `nn train` arguments those its run would not read, such
    /// as the study's `--momentum` in a trial that drew Adam. The tool that runs the trials knows which
    /// (`nn` sets this); by default every argument is kept.
    public var unreadArgumentsRemover: @Sendable ([String]) -> [String] = { $0 }

    /// Completed trials, best dev accuracy first (ties: the earlier trial).
    public var ranked: [TrialRecord] {
        trials.filter { $0.status == .done && $0.result != nil }.sorted {
            let a = $0.result?.devAccuracy ?? -.infinity, b = $1.result?.devAccuracy ?? -.infinity
            return a != b ? a > b : $0.id < $1.id
        }
    }

    /// Trials with `status`.
    public func count(_ status: TrialStatus) -> Int {
        trials.filter { $0.status == status }.count
    }

    // MARK: Text

    /// One line: the study's trials by state, its sampler and seed.
    public var summary: String {
        let counts = TrialStatus.allCases.map { "\(count($0)) \($0.rawValue)" }.joined(separator: ", ")
        return "study \(name): \(trials.count) trials (\(counts)); sampler \(configuration.sampler.rawValue), seed \(configuration.seed)"
    }

    /// The `top` best trials as a text table.
    public func table(top: Int) -> String {
        var lines: [String] = []
        lines.append(summary)
        for (round, box) in rounds {
            lines.append("round \(round + 1) box:")
            lines += box.describe(in: configuration.space).map { "  " + $0 }
        }
        let names = configuration.space.names
        var rows: [[String]] = [["rank", "trial", "round", "dev acc", "train acc", "test acc", "wall s"] + names]
        for (i, t) in ranked.prefix(top).enumerated() {
            let r = t.result
            let dev: String = r.map { percent($0.devAccuracy) } ?? "-"
            let train: String = r?.trainAccuracy.map(percent) ?? "-"
            let test: String = r?.testAccuracy.map(percent) ?? "-"
            let wall: String = t.wallSeconds.map { String(format: "%.1f", $0) } ?? "-"
            let params: [String] = names.map { t.assignment[$0].map(SearchBox.format) ?? "-" }
            rows.append([String(i + 1), String(t.id), String(t.round + 1), dev, train, test, wall] + params)
        }
        if rows.count == 1 {
            lines.append("no trial has completed yet")
        } else {
            lines.append("top \(rows.count - 1) of \(ranked.count) completed trials by dev accuracy:")
            lines += alignedTable(rows)
        }
        let failed = trials.filter { $0.status == .failed }
        if let first = failed.first {
            lines.append("\(failed.count) failed; e.g. trial \(first.id): \(first.error ?? "no error recorded")")
        }
        if let savings = pruningSavings {
            lines.append(String(format: "pruning: %d trial%@ stopped early; %.0f trial-seconds spent in all, about %.0f saved "
                                + "(each pruned trial's time per epoch × the epochs it did not run)",
                                savings.pruned, savings.pruned == 1 ? "" : "s", savings.spent, savings.saved))
        }
        if let best = ranked.first {
            lines.append("best: trial \(best.id), dev accuracy \(percent(best.result?.devAccuracy ?? 0))"
                         + (checkpoint(of: best).map { "; its checkpoint: \($0)" } ?? ""))
            lines.append("reproduce it with:")
            lines.append("  " + reproductionCommand(for: best))
            if let derived = derivedSettings(of: best) { lines.append("  (\(derived))") }
        }
        return lines.joined(separator: "\n")
    }

    // MARK: Reproducing a trial

    /// The `best/` checkpoint folder a finished trial's worker wrote, when it is still there.
    public func checkpoint(of trial: TrialRecord) -> String? {
        guard let attempt = trial.outputDirectory else { return nil }
        let best = WorkerProcess.trainOutput(in: URL(fileURLWithPath: attempt)).appendingPathComponent("best").path
        return FileManager.default.fileExists(atPath: best) ? best : nil
    }

    /// The `nn train` command line that runs `trial` again: the study's train arguments, then the
    /// trial's hyperparameters as flags (hidden and depth as the `--layers` they make), less those
    /// ``unreadArgumentsRemover`` removes.
    public func reproductionCommand(for trial: TrialRecord) -> String {
        let arguments = unreadArgumentsRemover(configuration.trainArguments + Hyperparameter.trainArguments(for: trial.assignment))
            + ["--out", "runs/\(name)-trial-\(trial.id)"]
        return (["nn", "train"] + arguments).map(Self.shellQuoted).joined(separator: " ")
    }

    /// "hidden 436 and depth 2 make --layers 436,436" when the trial has settings that are not flags.
    public func derivedSettings(of trial: TrialRecord) -> String? {
        let parts = ["hidden", "depth"].compactMap { name in trial.assignment[name].map { "\(name) \(SearchBox.format($0))" } }
        guard !parts.isEmpty else { return nil }
        let arguments = Hyperparameter.trainArguments(for: trial.assignment)
        guard let index = arguments.firstIndex(of: "--layers"), index + 1 < arguments.count else { return nil }
        let defaults = trial.assignment["hidden"] == nil ? "depth with the default \(Hyperparameter.defaultHiddenUnits) units"
            : trial.assignment["depth"] == nil ? "with the default depth \(Hyperparameter.defaultDepth)" : ""
        return parts.joined(separator: " and ") + (defaults.isEmpty ? "" : " (\(defaults))") + " make --layers \(arguments[index + 1])"
    }

    /// A word the shell reads as itself: quoted unless it holds only safe characters.
    public static func shellQuoted(_ word: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,/=:@%+")
        if !word.isEmpty, word.unicodeScalars.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private func percent(_ x: Double) -> String { formatPercent(x) }

    private func alignedTable(_ rows: [[String]]) -> [String] {
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  ")
        }
    }

    // MARK: JSON

    /// The report as one JSON object: configuration, status counts, each round's box, the top
    /// trials (parameters, result, timings, per-epoch dev accuracy) and the best trial.
    public func json(top: Int) throws -> String {
        let object: [String: Any] = [
            "study": name,
            "sampler": configuration.sampler.rawValue,
            "seed": configuration.seed,
            "space": configuration.space.jsonObject,
            "trainArguments": configuration.trainArguments,
            "counts": Dictionary(uniqueKeysWithValues: TrialStatus.allCases.map { ($0.rawValue, count($0)) }),
            "rounds": rounds.map { round, box in
                ["round": round + 1, "box": Dictionary(uniqueKeysWithValues: zip(box.bounds.map(\.name), box.describe(in: configuration.space)))] as [String: Any]
            },
            "top": ranked.prefix(top).map(trialObject),
            "trialSeconds": trials.compactMap(\.wallSeconds).reduce(0, +),
            "trialSecondsSavedByPruning": pruningSavings?.saved ?? 0,
            "best": ranked.first.map { best -> [String: Any] in
                var object = trialObject(best)
                object["command"] = reproductionCommand(for: best)
                if let checkpoint = checkpoint(of: best) { object["checkpoint"] = checkpoint }
                return object
            } ?? NSNull(),
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    private func trialObject(_ t: TrialRecord) -> [String: Any] {
        var o: [String: Any] = [
            "trial": t.id, "round": t.round + 1, "status": t.status.rawValue, "attempts": t.attempts,
            "params": t.assignment.mapValues { v -> Any in
                switch v {
                case let .real(x): return x
                case let .integer(i): return i
                case let .text(s): return s
                }
            },
            "devAccuracyByEpoch": (epochsByTrial[t.id] ?? []).compactMap { e in e.devAccuracy.map { ["epoch": e.epoch, "devAccuracy": $0] } },
        ]
        if let r = t.result {
            o["devAccuracy"] = r.devAccuracy
            if let v = r.trainAccuracy { o["trainAccuracy"] = v }
            if let v = r.testAccuracy { o["testAccuracy"] = v }
            if let v = r.samplesPerSecond { o["samplesPerSecond"] = v }
        }
        if let w = t.wallSeconds { o["wallSeconds"] = w }
        if let e = t.error { o["error"] = e }
        return o
    }

    // MARK: Plots

    /// Writes `dev-accuracy-vs-<name>.svg` for each hyperparameter and `learning-curves.svg` for
    /// the `top` best trials into `directory`; returns the files written.
    @discardableResult
    public func writePlots(to directory: URL, top: Int) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try plots(top: top).map { plot in
            let url = directory.appendingPathComponent(plot.fileName)
            try plot.svg.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
    }

    /// Dev accuracy against each hyperparameter on its own scale, then the learning curves of the
    /// `top` best trials, as standalone SVG documents with the file names ``writePlots(to:top:)`` uses.
    public func plots(top: Int) -> [(fileName: String, svg: String)] {
        var plots: [(fileName: String, svg: String)] = []
        let completed = ranked
        for entry in configuration.space.entries {
            let axis: SVGChart.XAxis
            var points: [(x: Double, y: Double)] = []
            switch entry.distribution {
            case let .choice(values):
                axis = .categories(values.map(\.argument))
                for t in completed {
                    if let v = t.assignment[entry.name], let i = entry.distribution.coordinate(of: v), let r = t.result {
                        points.append((i, r.devAccuracy))
                    }
                }
            default:
                axis = entry.distribution.isLogarithmic ? .log10 : .linear
                for t in completed {
                    guard let v = t.assignment[entry.name]?.numericValue, let r = t.result else { continue }
                    // For β-like parameters the log axis shows 1 − β, where the draws are uniform.
                    if case .oneMinusLogUniform = entry.distribution { points.append((1 - v, r.devAccuracy)) }
                    else { points.append((v, r.devAccuracy)) }
                }
            }
            var xLabel = entry.name
            if case .oneMinusLogUniform = entry.distribution { xLabel = "1 − \(entry.name) (log scale)" }
            else if entry.distribution.isLogarithmic { xLabel += " (log scale)" }
            let chart = SVGChart(title: "\(name): dev accuracy vs \(entry.name) (\(completed.count) trials)",
                                 xLabel: xLabel, yLabel: "dev accuracy (%)", xAxis: axis, yAxis: .percent,
                                 series: [.init(name: "completed trials", points: points, connected: false)])
            plots.append(("dev-accuracy-vs-\(entry.name).svg", chart.render()))
        }
        let curves = completed.prefix(top).map { t in
            SVGChart.Series(name: "trial \(t.id): \(percent(t.result?.devAccuracy ?? 0))",
                            points: (epochsByTrial[t.id] ?? []).compactMap { e in e.devAccuracy.map { (Double(e.epoch), $0) } },
                            connected: true)
        }
        let chart = SVGChart(title: "\(name): learning curves of the top \(curves.count) trials", xLabel: "epoch",
                             yLabel: "dev accuracy (%)", xAxis: .integers, yAxis: .percent, series: curves)
        plots.append(("learning-curves.svg", chart.render()))
        plots.append(("best-so-far.svg", bestSoFarPlot(against: .trials)))
        plots.append(("best-so-far-by-time.svg", bestSoFarPlot(against: .trialSeconds)))
        return plots
    }

    /// What convergence is measured against.
    public enum Budget: Sendable {
        /// Trials finished, in finishing order.
        case trials
        /// Seconds spent in trials (every finished trial's wall time, pruned and failed ones included).
        case trialSeconds
    }

    /// The best dev accuracy found so far against the budget spent: the curve that tells whether a
    /// search is still paying off, and (against trial-seconds) what pruning buys.
    public func bestSoFarPlot(against budget: Budget) -> String {
        let finished = trials.filter { $0.status.isFinished }
            .sorted { ($0.finishedAt ?? .distantFuture, $0.id) < ($1.finishedAt ?? .distantFuture, $1.id) }
        var best = -Double.infinity, spent = 0.0
        var points: [(x: Double, y: Double)] = []
        for (index, trial) in finished.enumerated() {
            spent += trial.wallSeconds ?? 0
            if let accuracy = trial.result?.devAccuracy { best = max(best, accuracy) }
            guard best.isFinite else { continue }
            points.append((budget == .trials ? Double(index + 1) : spent, best))
        }
        let xLabel = budget == .trials ? "trials finished" : "trial-seconds spent"
        return SVGChart(title: "\(name): best dev accuracy so far", xLabel: xLabel, yLabel: "dev accuracy (%)",
                        xAxis: budget == .trials ? .integers : .linear, yAxis: .percent,
                        series: [.init(name: "best so far", points: points, connected: true)]).render()
    }

    // MARK: Pruning

    /// What pruning saved: each pruned trial's time per epoch times the epochs it did not run, up to
    /// the epochs the study's completed trials ran. nil when no trial was pruned.
    public var pruningSavings: (pruned: Int, spent: Double, saved: Double)? {
        let fullEpochs = trials.filter { $0.status == .done }.compactMap { epochsByTrial[$0.id]?.map(\.epoch).max() }.max() ?? 0
        let pruned = trials.filter { $0.status == .pruned }
        guard !pruned.isEmpty, fullEpochs > 0 else { return nil }
        let spent = trials.compactMap(\.wallSeconds).reduce(0, +)
        let saved = pruned.reduce(0.0) { total, trial in
            guard let wall = trial.wallSeconds, let done = epochsByTrial[trial.id]?.map(\.epoch).max(), done > 0, done < fullEpochs else { return total }
            return total + wall / Double(done) * Double(fullEpochs - done)
        }
        return (pruned.count, spent, saved)
    }
}
