import Foundation
import NNTrain

/// A one-line JSON object with keys in the order given, for `--json` output and metrics files
/// (JSONSerialization would sort or scramble keys, and readers scan these lines by eye too).
struct JSONLine {
    private var fields: [String] = []

    mutating func add(_ key: String, _ value: String?) {
        fields.append("\(Self.quote(key)):\(value.map(Self.quote) ?? "null")")
    }

    mutating func add(_ key: String, _ value: Int?) {
        fields.append("\(Self.quote(key)):\(value.map(String.init) ?? "null")")
    }

    mutating func add(_ key: String, _ value: Bool) {
        fields.append("\(Self.quote(key)):\(value)")
    }

    /// Non-finite numbers have no JSON form; they are written as null.
    mutating func add(_ key: String, _ value: Double?) {
        let text = value.flatMap { $0.isFinite ? Self.number($0) : nil } ?? "null"
        fields.append("\(Self.quote(key)):\(text)")
    }

    /// Floats print their shortest round-trip form (1e-3, not 0.0010000000474974513).
    mutating func add(_ key: String, _ value: Float?) {
        add(key, value.flatMap { Double("\($0)") })
    }

    /// A nested value that is already JSON text (an object or array built by another `JSONLine`).
    mutating func add(_ key: String, json: String) {
        fields.append("\(Self.quote(key)):\(json)")
    }

    var text: String { "{" + fields.joined(separator: ",") + "}" }

    /// Shortest round-trip representation, without Swift's "1e-05" vs JSON quirks (both are valid JSON).
    static func number(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    static func quote(_ s: String) -> String { JSONText.quoted(s) }
}
