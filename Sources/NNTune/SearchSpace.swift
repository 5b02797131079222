import Foundation

/// The hyperparameters a study searches, each with its distribution, in the course's order of
/// importance (see ``Hyperparameter/rank``).
///
/// The file form is one JSON object, one entry per hyperparameter:
///
///     {"lr": "logUniform(1e-4, 1)", "optimizer": "fixed(momentum)", "momentum": "oneMinusLogUniform(0.9, 0.999)",
///      "hidden": "int(64, 512)", "batch": "choice(32, 64, 128, 256)", "layers": "choice(\"512,256\", \"256\")"}
///
/// JSON objects carry no order, so entries take the order of ``Hyperparameter/all`` (the course's
/// ranking): the same space always draws the same values from the same seed.
public struct SearchSpace: Sendable, Equatable, Codable {
    /// One hyperparameter of the space and its distribution.
    public struct Entry: Sendable, Equatable, Codable {
        /// The hyperparameter's name (`nn train` flag without dashes).
        public let name: String
        /// Where its values are drawn from.
        public let distribution: Distribution
    }

    /// The entries, in the course's order of importance.
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
        try Self.checkNetworkSize(distributions)
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

    /// The largest space file read: a real space is a few hundred bytes, and a cap keeps a huge or
    /// endless file (a wrong path, /dev/zero) from being read into memory.
    public static let maximumFileBytes = 1 << 20

    /// Reads and parses a space file; every error names the file, and the entry where there is one.
    public init(contentsOf path: String) throws {
        let data = try Self.read(path)
        do {
            self = try SearchSpace(json: data, source: path)
        } catch let TuneError.invalidSpace(entry, detail) {
            throw TuneError.invalidSpaceInFile(path: path, entry: entry, detail: detail)
        }
    }

    private static func read(_ path: String) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TuneError.malformedSpaceFile(path: path, detail: "cannot read the file; check the path")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumFileBytes + 1) ?? Data()
        } catch {
            throw TuneError.malformedSpaceFile(path: path, detail: "cannot read the file (\(error.localizedDescription)); it must be a JSON file")
        }
        guard data.count <= maximumFileBytes else {
            throw TuneError.malformedSpaceFile(
                path: path, detail: "larger than the limit of \(maximumFileBytes) bytes; a search space is one small JSON object")
        }
        return data
    }

    /// A stored space is validated like a file's, so a damaged or hand-edited study database cannot
    /// smuggle in bounds a new study would refuse.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let entries = try container.decode([Entry].self, forKey: .entries)
        var distributions: [String: Distribution] = [:]
        for e in entries {
            guard distributions.updateValue(e.distribution, forKey: e.name) == nil else {
                throw TuneError.invalidSpace(entry: e.name, detail: "listed twice")
            }
        }
        self = try SearchSpace(distributions)
    }

    /// Refuses hidden layers whose weights alone would need absurd memory: each entry is within its
    /// own limit, but `hidden` 65,536 at `depth` 64 would still be 2.7·10¹¹ weights.
    private static func checkNetworkSize(_ distributions: [String: Distribution]) throws {
        let limit = Hyperparameter.maximumHiddenWeights
        if let layers = distributions["layers"], case let .choice(values) = layers {
            for v in values {
                let weights = Hyperparameter.hiddenWeights(try Hyperparameter.layerSizes(v, entry: "layers"))
                guard weights <= limit else {
                    throw TuneError.invalidSpace(
                        entry: "layers",
                        detail: "\"\(DistributionSyntax.excerpt(v.argument))\" has \(weights) weights between hidden layers, more than the limit of \(limit) (4 GiB); use narrower layers")
                }
            }
        }
        guard distributions["hidden"] != nil || distributions["depth"] != nil else { return }
        let hidden = distributions["hidden"].map(largestWholeValue) ?? Hyperparameter.defaultHiddenUnits
        let depth = distributions["depth"].map(largestWholeValue) ?? Hyperparameter.defaultDepth
        let weights = Hyperparameter.hiddenWeights(Array(repeating: hidden, count: max(depth, 1)))
        guard weights <= limit else {
            throw TuneError.invalidSpace(
                entry: distributions["hidden"] != nil ? "hidden" : "depth",
                detail: "hidden up to \(hidden) units with depth up to \(depth) makes \(weights) weights between hidden layers, "
                    + "more than the limit of \(limit) (4 GiB); lower the largest hidden or depth")
        }
    }

    /// The largest whole value a validated integer distribution reaches (at most its hyperparameter's maximum).
    private static func largestWholeValue(_ distribution: Distribution) -> Int {
        switch distribution {
        case let .integer(_, high): return high
        case let .choice(values): return values.compactMap(Hyperparameter.wholeNumber).max() ?? 0
        default: return 0
        }
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

    /// The hyperparameters' names, in order.
    public var names: [String] { entries.map(\.name) }

    /// The distribution of `name`, or nil when it is not searched.
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
