import Foundation

/// Parses the search-space file's two spellings of a distribution:
///
///     "logUniform(1e-4, 1)"   "oneMinusLogUniform(0.9, 0.999)"   "int(1, 4)"
///     "uniform(0, 0.5)"       "choice(32, 64, \"512,256\", adam)"   "fixed(10)"
///     {"dist": "logUniform", "low": 1e-4, "high": 1}   {"dist": "choice", "values": [32, 64]}
///
/// Names are case-insensitive; `fixed(x)` is a one-option choice. A choice item is a number, a
/// quoted string, or a bare word.
enum DistributionSyntax {
    static let names = "uniform, int, logUniform, oneMinusLogUniform, choice, fixed"

    /// Parses a JSON entry (a string or an object) for hyperparameter `entry`.
    static func parse(_ json: Any, entry: String) throws -> Distribution {
        let distribution: Distribution
        if let text = json as? String {
            distribution = try parse(text: text, entry: entry)
        } else if let object = json as? [String: Any] {
            distribution = try parse(object: object, entry: entry)
        } else {
            throw TuneError.invalidSpace(
                entry: entry,
                detail: "expected a string such as \"logUniform(1e-4, 1)\" or an object {\"dist\": …}, got \(excerpt("\(json)"))")
        }
        try distribution.validate(entry: entry)
        return distribution
    }

    static func parse(text: String, entry: String) throws -> Distribution {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.firstIndex(of: "("), trimmed.hasSuffix(")") else {
            throw TuneError.invalidSpace(entry: entry, detail: "cannot read '\(excerpt(text))'; write name(arguments), e.g. logUniform(1e-4, 1); distributions: \(names)")
        }
        let name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
        let inner = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
        let items = try splitArguments(String(inner), entry: entry)
        return try make(name: name, items: items, entry: entry)
    }

    static func parse(object: [String: Any], entry: String) throws -> Distribution {
        guard let name = object["dist"] as? String ?? object["distribution"] as? String else {
            throw TuneError.invalidSpace(entry: entry, detail: "object form needs a \"dist\" key naming one of: \(names)")
        }
        func number(_ key: String) throws -> ParameterValue {
            guard let n = object[key] as? NSNumber else {
                throw TuneError.invalidSpace(entry: entry, detail: "\(name) needs a numeric \"\(key)\"")
            }
            return numberValue(n)
        }
        switch name.lowercased() {
        case "choice", "fixed":
            if name.lowercased() == "fixed", let v = object["value"] {
                return try make(name: name, items: [try jsonItem(v, entry: entry)], entry: entry)
            }
            guard let values = object["values"] as? [Any] else {
                throw TuneError.invalidSpace(entry: entry, detail: "\(name) needs a \"values\" array")
            }
            return try make(name: name, items: try values.map { try jsonItem($0, entry: entry) }, entry: entry)
        default:
            return try make(name: name, items: [try number("low"), try number("high")], entry: entry)
        }
    }

    private static func jsonItem(_ v: Any, entry: String) throws -> ParameterValue {
        if let s = v as? String { return .text(s) }
        if let n = v as? NSNumber { return numberValue(n) }
        throw TuneError.invalidSpace(entry: entry, detail: "choice value \(excerpt("\(v)")) must be a number or a string")
    }

    private static func numberValue(_ n: NSNumber) -> ParameterValue {
        let d = n.doubleValue
        if !"\(n)".contains("."), !"\(n)".lowercased().contains("e"), abs(d) < Distribution.maximumMagnitude,
           let i = Int(exactly: d) {
            return .integer(i)
        }
        return .real(d)
    }

    private static func make(name: String, items: [ParameterValue], entry: String) throws -> Distribution {
        func reals() throws -> (Double, Double) {
            guard items.count == 2 else {
                throw TuneError.invalidSpace(entry: entry, detail: "\(name) takes two bounds (low, high), got \(items.count) arguments")
            }
            guard let a = items[0].numericValue, let b = items[1].numericValue else {
                throw TuneError.invalidSpace(entry: entry, detail: "\(name) bounds must be numbers, got \(items[0]) and \(items[1])")
            }
            return (a, b)
        }
        switch name.lowercased() {
        case "uniform":
            let (a, b) = try reals()
            return .uniform(low: a, high: b)
        case "int", "integer", "randint":
            let (a, b) = try reals()
            guard a == a.rounded(), b == b.rounded() else {
                throw TuneError.invalidSpace(entry: entry, detail: "int bounds must be whole numbers, got \(items[0]) and \(items[1])")
            }
            // Checked, not Int(_:), which traps on 1e300 or NaN.
            guard abs(a) <= Distribution.maximumMagnitude, abs(b) <= Distribution.maximumMagnitude,
                  let low = Int(exactly: a), let high = Int(exactly: b) else {
                throw TuneError.invalidSpace(
                    entry: entry,
                    detail: "int bounds must lie within ±\(formatLimit(Distribution.maximumMagnitude)), got \(items[0]) and \(items[1])")
            }
            return .integer(low: low, high: high)
        case "loguniform":
            let (a, b) = try reals()
            return .logUniform(low: a, high: b)
        case "oneminusloguniform":
            let (a, b) = try reals()
            return .oneMinusLogUniform(low: a, high: b)
        case "choice":
            return .choice(items)
        case "fixed":
            guard items.count == 1 else {
                throw TuneError.invalidSpace(entry: entry, detail: "fixed takes one value, got \(items.count)")
            }
            return .choice(items)
        default:
            throw TuneError.invalidSpace(entry: entry, detail: "unknown distribution '\(name)'; use one of: \(names)")
        }
    }

    /// At most the first 60 characters of `text`, for messages that quote a (possibly huge) input.
    static func excerpt(_ text: String) -> String {
        text.count <= 60 ? text : String(text.prefix(60)) + "… (\(text.count) characters)"
    }

    /// Splits "1e-4, \"512,256\", adam" at top-level commas, honouring quotes.
    private static func splitArguments(_ text: String, entry: String) throws -> [ParameterValue] {
        var items: [ParameterValue] = []
        var current = ""
        var quote: Character?
        var wasQuoted = false
        func finish() throws {
            let token = current.trimmingCharacters(in: .whitespaces)
            if wasQuoted {
                items.append(.text(current))
            } else if token.isEmpty {
                throw TuneError.invalidSpace(entry: entry, detail: "empty argument in '\(excerpt(text))'")
            } else if let i = Int(token) {
                items.append(.integer(i))
            } else if let d = Double(token) {
                // Double(_:) reads "nan", "inf" and overflows such as 1e400 (as inf): refused here, so
                // no later conversion or comparison ever meets them.
                guard d.isFinite else {
                    throw TuneError.invalidSpace(entry: entry, detail: "'\(excerpt(token))' is not a finite number")
                }
                items.append(.real(d))
            } else {
                items.append(.text(token))
            }
            current = ""
            wasQuoted = false
        }
        if text.trimmingCharacters(in: .whitespaces).isEmpty { return [] }
        for ch in text {
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
            } else if ch == "\"" || ch == "'" {
                guard current.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw TuneError.invalidSpace(entry: entry, detail: "stray quote in '\(excerpt(text))'")
                }
                current = ""
                quote = ch
                wasQuoted = true
            } else if ch == "," {
                try finish()
            } else if wasQuoted {
                if !ch.isWhitespace {
                    throw TuneError.invalidSpace(entry: entry, detail: "text after a closing quote in '\(excerpt(text))'; separate values with commas")
                }
            } else {
                current.append(ch)
            }
        }
        guard quote == nil else {
            throw TuneError.invalidSpace(entry: entry, detail: "unterminated quote in '\(excerpt(text))'")
        }
        try finish()
        return items
    }
}
