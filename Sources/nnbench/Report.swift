import Foundation
import NNCore

/// One backend's outcome on one row: a figure, or the error the backend threw.
struct BackendResult: Codable, Sendable {
    var backend: String
    var figure: Figure?
    var error: String?
    /// Kernels one call enqueues, for backends that count them (OpenCL): on a GPU each costs a few
    /// microseconds of driver time, so the count explains small-batch figures the arithmetic does not.
    var launchesPerCall: Int?
}

/// One benchmark case measured on every backend of the run.
struct BenchmarkRow: Codable, Sendable {
    var suite: String
    var name: String
    var model: String
    var unit: RateUnit
    var ceiling: CeilingKind
    var results: [BackendResult]
}

struct BackendInfo: Codable, Sendable {
    var name: String
    var device: String
}

struct HostInfo: Codable, Sendable {
    var cpu: String
    var logicalCores: Int

    static func current() -> HostInfo {
        let cpuinfo = readSmallFile("/proc/cpuinfo") ?? ""
        let model = cpuinfo.split(separator: "\n")
            .first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { String($0).trimmingWhitespace() } ?? "unknown CPU"
        return HostInfo(cpu: model, logicalCores: ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// Everything one invocation measured; `--json` prints it as one document.
struct BenchmarkReport: Codable, Sendable {
    var tool = "nnbench"
    var host: HostInfo
    var threads: Int
    var runs: Int
    var warmup: Int
    var minimumRunSeconds: Double
    var backends: [BackendInfo]
    var unavailableBackends: [BackendInfo]
    var ceiling: HostCeiling
    var rows: [BenchmarkRow]

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// The human-readable form: one row per case, backends side by side, then their ratio.
enum TableRenderer {
    static func render(_ report: BenchmarkReport) -> String {
        var lines: [String] = []
        let c = report.ceiling
        lines.append("nnbench on \(report.host.cpu) (\(report.host.logicalCores) logical cores), \(report.threads) thread(s)")
        lines.append("each figure: median [min–max] of \(report.runs) timed runs after \(report.warmup) warm-up run(s), "
            + "≥ \(format(report.minimumRunSeconds * 1000)) ms per run, device synchronised inside the timed region")
        lines.append(contentsOf: ceilingLines(c))
        for b in report.backends { lines.append("  \(b.name): \(b.device)") }
        for b in report.unavailableBackends { lines.append("  \(b.name): unavailable — \(b.device)") }
        guard !report.rows.isEmpty else { return lines.joined(separator: "\n") }

        let names = report.backends.map(\.name)
        var header = ["suite", "case", "unit"] + names.map { "\($0) median [min–max] %ceil" }
        let ratioNames = names.dropFirst().map { "\($0)/\(names[0])" }
        header += ratioNames
        var table: [[String]] = [header]
        for row in report.rows {
            var cells = [row.suite, row.name, row.unit.rawValue]
            var medians: [Double?] = []
            for name in names {
                let result = row.results.first { $0.backend == name }
                if let f = result?.figure {
                    var cell = "\(format(f.median)) [\(format(f.min))–\(format(f.max))]"
                    if let fraction = f.fractionOfCeiling { cell += " \(percent(fraction))" }
                    if let launches = result?.launchesPerCall { cell += ", \(launches) launch\(launches == 1 ? "" : "es")" }
                    cells.append(cell)
                    medians.append(f.median)
                } else {
                    cells.append(result?.error.map { "error: \(abbreviate($0))" } ?? "–")
                    medians.append(nil)
                }
            }
            for i in medians.indices.dropFirst() {
                if let base = medians[0], let other = medians[i], base > 0 {
                    cells.append(String(format: "%.2f×", other / base))
                } else {
                    cells.append("–")
                }
            }
            table.append(cells)
        }
        lines.append("")
        lines.append(contentsOf: align(table))

        lines.append("")
        lines.append("work models (ceiling: GEMM vs the FMA peak, memory-bound ops vs the triad, both at \(c.threads) thread(s)):")
        var seen = Set<String>()
        for row in report.rows where seen.insert("\(row.suite): \(row.model)").inserted {
            // A suite whose rows count work differently names each row.
            let oneModel = report.rows.allSatisfy { $0.suite != row.suite || $0.model == row.model }
            lines.append("  \(oneModel ? row.suite : "\(row.suite) \(row.name)"): \(row.model)")
        }
        return lines.joined(separator: "\n")
    }

    /// The measured ceilings with their spread, one probe per line.
    static func ceilingLines(_ c: HostCeiling) -> [String] {
        func cell(_ f: Figure) -> String { "\(format(f.median)) [\(format(f.min))–\(format(f.max))]" }
        let many = "\(c.threads) threads"
        var lines = [
            "host ceiling, median [min–max]:",
            "  FMA peak   1 thread \(cell(c.fmaOneThread)) GFLOP/s   \(many) \(cell(c.fmaAllThreads)) GFLOP/s   "
                + "(unfused mul+add, \(many): \(format(c.mulAddAllThreads.median)))",
            "  triad      1 thread \(cell(c.triadOneThread)) GB/s   \(many) \(cell(c.triadAllThreads)) GB/s   "
                + "(3 arrays of \(c.triadArrayMiB) MiB; 12 B per element)",
        ]
        if !c.hardwareFMA {
            lines.append("  WARNING: this nnbench build has no hardware FMA (swiftc targets baseline x86-64, so FMA is a libm call):")
            lines.append("  the FMA figures are not the machine's peak, and GEMM fractions use the unfused rate.")
            lines.append("  Build with: swift build -c release -Xswiftc -Xcc -Xswiftc -march=native --product nnbench")
        }
        return lines
    }

    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        let magnitude = abs(value)
        if magnitude >= 1000 { return String(format: "%.0f", value) }
        if magnitude >= 100 { return String(format: "%.1f", value) }
        if magnitude >= 10 { return String(format: "%.2f", value) }
        return String(format: "%.3f", value)
    }

    static func percent(_ fraction: Double) -> String {
        String(format: "%.0f%%", fraction * 100)
    }

    private static func abbreviate(_ text: String) -> String {
        text.count <= 60 ? text : String(text.prefix(57)) + "…"
    }

    /// Left-aligns text columns and right-aligns the figures, two spaces between columns.
    private static func align(_ table: [[String]]) -> [String] {
        let columns = table.map(\.count).max() ?? 0
        let widths = (0..<columns).map { col in table.map { col < $0.count ? $0[col].count : 0 }.max() ?? 0 }
        return table.map { row in
            row.enumerated().map { col, cell in
                let pad = String(repeating: " ", count: widths[col] - cell.count)
                return col < 3 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
    }
}
