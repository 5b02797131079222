import Foundation

/// Building blocks of the pages: escaping, the common page frame, and number formats with one
/// unit per quantity (accuracy in percent everywhere, as in `nn`'s tables).
enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A path segment for a link: each id segment percent-encoded on its own.
    static func link(_ prefix: String, _ id: String) -> String {
        prefix + id.split(separator: "/").map { String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? "" }.joined(separator: "/")
    }

    static func percent(_ fraction: Double?) -> String {
        guard let fraction, fraction.isFinite else { return "–" }
        return String(format: "%.2f %%", fraction * 100)
    }

    static func number(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "–" }
        return String(format: "%.4g", x)
    }

    /// The frame of every page: title, navigation, the stylesheet and the script.
    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) · nn dashboard</title>
        <link rel="stylesheet" href="/static/dashboard.css">
        </head><body>
        <nav><a href="/">runs</a> · <a href="/studies">studies</a></nav>
        <h1>\(escape(title))</h1>
        \(body)
        <script src="/static/dashboard.js"></script>
        </body></html>

        """
    }
}
