import Foundation

/// The hyperparameters a study searches, each with its distribution, in the course's order of
/// importance (see ``Hyperparameter/rank``).
///
/// The file form is one JSON object, one entry per hyperparameter:
///
///     {"lr": "logUniform(1e-4, 1)", "momentum": "oneMinusLogUniform(0.9, 0.999)",
///      "hidden": "int(64, 512)", "batch": "choice(32, 64, 128, 256)", "layers": "choice(\"512,256\", \"256\")"}
///
/// JSON objects carry no order, so entries take the order of ``Hyperparameter/all`` (the course's
/// ranking): the same space always draws the same values from the same seed.
public struct SearchSpace: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public let name: String
        public let distribution: Distribution
    }

    public let entries: [Entry]

    /// Validates every entry: known name, usable distribution, no conflicting entries.
    public init(_ distributions: [String: Distribution]) throws {
        var entries: [Entry] = []
        for (name, distribution) in distributions {
            guard let h = Hyperparameter.named(name) else {
                let known = Hyperparameter.all.map(\.name).joined(separator: ", ")
                throw TuneError.invalidSpace(entry: name, detail: "unknown hyperparameter; known ones: \(known)")
            }
            try distribution.validate(entry: name)
            try h.check(distribution)
            entries.append(Entry(name: name, distribution: distribution))
        }
        if distributions["layers"] != nil, let other = ["hidden", "depth"].first(where: { distributions[$0] != nil }) {
            throw TuneError.invalidSpace(
                entry: "layers",
                detail: "conflicts with '\(other)': give either layers (explicit sizes) or hidden/depth (uniform widths), not both")
        }
        guard !entries.isEmpty else {
            throw TuneError.invalidSpace(entry: "(none)", detail: "the space names no hyperparameters")
        }
        func position(_ e: Entry) -> Int { Hyperparameter.all.firstIndex { $0.name == e.name } ?? .max }
        self.entries = entries.sorted { position($0) < position($1) }
    }

    /// Parses the JSON text of a space file; `source` names the file in errors.
    public init(json data: Data, source: String) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TuneError.malformedSpaceFile(path: source, detail: "not valid JSON (\(error.localizedDescription))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw TuneError.malformedSpaceFile(path: source, detail: "expected a JSON object {\"lr\": \"logUniform(1e-4, 1)\", …}")
        }
        var distributions: [String: Distribution] = [:]
        for (name, value) in dictionary {
            distributions[name] = try DistributionSyntax.parse(value, entry: name)
        }
        try self.init(distributions)
    }

    /// Reads and parses a space file.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TuneError.malformedSpaceFile(path: path, detail: "cannot read the file; check the path")
        }
        try self.init(json: data, source: path)
    }

    /// The default search: the neighbourhood of `nn train`'s own recipe (Adam, cosine-annealed),
    /// searched in the course's order of importance. α on a log scale over two decades centred on the
    /// recipe's 1e-3; then Adam's β₁ (as 1 − β₁ on a log scale, the course's momentum β), hidden
    /// units and mini-batch size; then the number of layers. The optimizer and the schedule are
    /// fixed to the recipe's, so every trial is a variation of a run known to work; β₂ and ε stay
    /// at their defaults, which the course says almost never need tuning.
    public static let recommended: SearchSpace = {
        // Already in rank order; a unit test passes the same entries through the validating init.
        SearchSpace(orderedEntries: [
            Entry(name: "lr", distribution: .logUniform(low: 1e-4, high: 1e-2)),
            Entry(name: "hidden", distribution: .choice([.integer(128), .integer(256), .integer(512)])),
            Entry(name: "batch", distribution: .choice([.integer(64), .integer(128), .integer(256)])),
            Entry(name: "depth", distribution: .integer(low: 1, high: 3)),
            Entry(name: "optimizer", distribution: .choice([.text("adam")])),
            Entry(name: "schedule", distribution: .choice([.text("cosine")])),
            Entry(name: "beta1", distribution: .oneMinusLogUniform(low: 0.8, high: 0.99)),
        ])
    }()

    private init(orderedEntries: [Entry]) {
        entries = orderedEntries
    }

    public var names: [String] { entries.map(\.name) }

    public func distribution(of name: String) -> Distribution? {
        entries.first { $0.name == name }?.distribution
    }

    /// The whole space as a box.
    public var fullBox: SearchBox {
        SearchBox(bounds: entries.map { SearchBox.Item(name: $0.name, bounds: $0.distribution.fullBounds) })
    }

    /// The space as the file form (one canonical string per entry), for storage and reports.
    public var jsonObject: [String: String] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.distribution.description) })
    }
}
