#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Where output goes: results on stdout, diagnostics and progress on stderr. With `--json`, stdout
/// holds nothing but the final JSON line, so scripts can read it with `tail -n 1`.
enum Terminal {
    static let standardErrorIsTerminal = isatty(STDERR_FILENO) == 1

    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Writes to stderr without a newline (progress bars redraw the line with "\r").
    static func writeError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// A line on stdout, written unbuffered so a parent process (nn tune) sees it as it happens.
    static func printLine(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// The terminal's width in columns, 80 when unknown.
    static var columns: Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}

/// Number formatting shared by the commands' human-readable output.
enum Format {
    static func percent(_ fraction: Double) -> String { String(format: "%.2f %%", fraction * 100) }
    static func fixed(_ x: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", x) }

    /// "1 epoch", "3 epochs".
    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    static func rate(_ samplesPerSecond: Double) -> String {
        samplesPerSecond >= 10_000 ? String(format: "%.1fk", samplesPerSecond / 1000) : String(format: "%.0f", samplesPerSecond)
    }
}
