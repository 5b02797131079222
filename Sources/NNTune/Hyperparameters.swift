/// The hyperparameters a search space may name, each mapped to the `nn train` option it sets.
///
/// `rank` orders them as the course ranks their importance (1 = tune first: the learning rate
/// α; 2: momentum β, hidden units, mini-batch size; 3: number of layers, learning-rate decay;
/// 4: the rest, Adam's β₁, β₂, ε last since their defaults almost always do). Spaces are kept
/// in this order, so draws, tables and plots list α first.
public struct Hyperparameter: Sendable, Equatable {
    /// The kind of value a hyperparameter takes.
    public enum Kind: Sendable, Equatable {
        /// A real number (learning rate, β, λ).
        case real
        /// A whole number (hidden units, batch size, epochs).
        case integer
        /// Text (a layer list such as "512,256").
        case text
    }

    /// The values `nn train` accepts, checked at both ends of a range so a bad space fails before any trial runs.
    public enum Domain: Sendable, Equatable {
        /// Greater than 0.
        case positive
        /// 0 or more.
        case nonNegative
        /// In [0, 1).
        case fraction
        /// In (0, 1].
        case probability
        /// 1 or more.
        case atLeastOne
        /// Any value.
        case any

        func contains(_ x: Double) -> Bool {
            switch self {
            case .positive: return x > 0
            case .nonNegative: return x >= 0
            case .fraction: return x >= 0 && x < 1
            case .probability: return x > 0 && x <= 1
            case .atLeastOne: return x >= 1
            case .any: return true
            }
        }

        var text: String {
            switch self {
            case .positive: return "> 0"
            case .nonNegative: return "≥ 0"
            case .fraction: return "in [0, 1)"
            case .probability: return "in (0, 1]"
            case .atLeastOne: return "≥ 1"
            case .any: return "any value"
            }
        }
    }

    /// The name used in search spaces ("lr", "hidden", …).
    public let name: String
    /// The `nn train` option it sets, or nil for `hidden`/`depth`, which together form `--layers`.
    public let option: String?
    /// Real, integer or text.
    public let kind: Kind
    /// Importance in the course's ranking (1 is the learning rate).
    public let rank: Int
    /// What it is, in a few words.
    public let summary: String
    /// The values `nn train` accepts.
    public let domain: Domain
    /// The largest value a space may give an integer hyperparameter: far beyond any useful run, yet
    /// refused up front, since `depth` 2³¹ asked for 34 GB before a trial even started.
    public let maximum: Int?

    init(name: String, option: String?, kind: Kind, rank: Int, summary: String, domain: Domain, maximum: Int? = nil) {
        self.name = name
        self.option = option
        self.kind = kind
        self.rank = rank
        self.summary = summary
        self.domain = domain
        self.maximum = maximum
    }

    /// Units in one hidden layer (`hidden`, and each size in `layers`).
    public static let maximumHiddenUnits = 65_536
    /// Hidden layers (`depth`, and the sizes listed in `layers`).
    public static let maximumDepth = 64
    /// Weights between consecutive hidden layers, summed (2³⁰, 4 GiB in float32): a space reaching
    /// more would fail every large trial on memory, after the small ones had run.
    public static let maximumHiddenWeights = 1 << 30

    /// Every hyperparameter the tuner knows, most important first; spaces list their entries in this order.
    public static let all: [Hyperparameter] = [
        .init(name: "lr", option: "--lr", kind: .real, rank: 1, summary: "learning rate α", domain: .positive),
        .init(name: "momentum", option: "--momentum", kind: .real, rank: 2, summary: "momentum β (optimizer momentum)", domain: .fraction),
        .init(name: "hidden", option: nil, kind: .integer, rank: 2, summary: "units in each hidden layer (with depth, forms --layers)", domain: .atLeastOne,
              maximum: maximumHiddenUnits),
        .init(name: "batch", option: "--batch", kind: .integer, rank: 2, summary: "mini-batch size", domain: .atLeastOne, maximum: 1 << 20),
        .init(name: "depth", option: nil, kind: .integer, rank: 3, summary: "number of hidden layers (with hidden, forms --layers)", domain: .atLeastOne,
              maximum: maximumDepth),
        .init(name: "layers", option: "--layers", kind: .text, rank: 3, summary: "hidden layer sizes, e.g. \"512,256\"", domain: .any),
        .init(name: "decay", option: "--decay", kind: .real, rank: 3, summary: "learning-rate decay", domain: .nonNegative),
        .init(name: "l2", option: "--l2", kind: .real, rank: 4, summary: "L2 regularisation λ", domain: .nonNegative),
        .init(name: "l1", option: "--l1", kind: .real, rank: 4, summary: "L1 regularisation λ", domain: .nonNegative),
        .init(name: "keep", option: "--dropout", kind: .real, rank: 4, summary: "dropout keep probability", domain: .probability),
        .init(name: "epochs", option: "--epochs", kind: .integer, rank: 4, summary: "training epochs", domain: .atLeastOne, maximum: 100_000),
        .init(name: "optimizer", option: "--optimizer", kind: .text, rank: 4, summary: "sgd, momentum, rmsprop or adam", domain: .any),
        .init(name: "activation", option: "--activation", kind: .text, rank: 4, summary: "relu, tanh or sigmoid", domain: .any),
        .init(name: "schedule", option: "--schedule", kind: .text, rank: 4, summary: "learning-rate schedule", domain: .any),
        .init(name: "beta1", option: "--beta1", kind: .real, rank: 5, summary: "Adam β₁", domain: .fraction),
        .init(name: "beta2", option: "--beta2", kind: .real, rank: 5, summary: "Adam β₂ (also RMSprop's β)", domain: .fraction),
        .init(name: "epsilon", option: "--epsilon", kind: .real, rank: 5, summary: "Adam/RMSprop ε", domain: .positive),
    ]

    /// The hidden-layer width used when a space sets `depth` but not `hidden`.
    public static let defaultHiddenUnits = 256
    /// The number of hidden layers used when a space sets `hidden` but not `depth`.
    public static let defaultDepth = 2

    /// The hyperparameter called `name`, or nil.
    public static func named(_ name: String) -> Hyperparameter? {
        all.first { $0.name == name }
    }

    /// Throws unless `distribution` can produce only values of this hyperparameter's kind and domain.
    func check(_ distribution: Distribution) throws {
        try checkKind(distribution)
        let extremes: [ParameterValue]
        switch distribution.fullBounds {
        case let .interval(lo, hi):
            extremes = [distribution.value(atCoordinate: lo), distribution.value(atCoordinate: hi)]
        case .options:
            if case let .choice(values) = distribution { extremes = values } else { extremes = [] }
        }
        for v in extremes {
            if let x = v.numericValue, !domain.contains(x) {
                throw TuneError.invalidSpace(entry: name, detail: "\(distribution) reaches \(v), but \(summary) must be \(domain.text)")
            }
            if let maximum, let x = v.numericValue, x > Double(maximum) {
                throw TuneError.invalidSpace(
                    entry: name, detail: "\(distribution) reaches \(v), above the limit of \(maximum) for \(summary)")
            }
        }
        if name == "layers" {
            for v in extremes { _ = try Self.layerSizes(v, entry: name) }
        }
    }

    /// The hidden sizes a `layers` value lists ("512,256"; "" or "none" for none), each checked
    /// against the limits, as `nn train --layers` reads them.
    static func layerSizes(_ value: ParameterValue, entry: String) throws -> [Int] {
        let text = value.argument.trimmingCharacters(in: .whitespaces)
        if text.isEmpty || text.lowercased() == "none" { return [] }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= maximumDepth else {
            throw TuneError.invalidSpace(
                entry: entry, detail: "\(DistributionSyntax.excerpt(text)) lists \(parts.count) layers, more than the limit of \(maximumDepth)")
        }
        return try parts.map { part in
            let item = part.trimmingCharacters(in: .whitespaces)
            // Int(String) returns nil on overflow rather than trapping, so 1e300-like input is simply not a size.
            guard let n = Int(item), n >= 1, n <= maximumHiddenUnits else {
                throw TuneError.invalidSpace(
                    entry: entry,
                    detail: "'\(DistributionSyntax.excerpt(item))' in \"\(DistributionSyntax.excerpt(text))\" is not a layer size from 1 to \(maximumHiddenUnits)")
            }
            return n
        }
    }

    /// Weights between consecutive hidden layers of these sizes (the input and output layers depend on the data).
    static func hiddenWeights(_ sizes: [Int]) -> Int {
        // Sizes are at most 2¹⁶ and at most 64 of them, so no product or sum here can overflow.
        zip(sizes, sizes.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 }
    }

    private func checkKind(_ distribution: Distribution) throws {
        switch (kind, distribution) {
        case (.real, .choice(let values)), (.integer, .choice(let values)):
            if let bad = values.first(where: { $0.numericValue == nil }) {
                throw TuneError.invalidSpace(entry: name, detail: "\(summary) takes numbers, but choice lists \"\(bad)\"")
            }
            if kind == .integer, let bad = values.first(where: { v in v.numericValue.map { $0 != $0.rounded() } ?? false }) {
                throw TuneError.invalidSpace(entry: name, detail: "\(summary) takes whole numbers, but choice lists \(bad); use int(a, b) or whole choices")
            }
        case (.real, _):
            break
        case (.integer, .integer):
            break
        case (.integer, _):
            throw TuneError.invalidSpace(entry: name, detail: "\(summary) takes whole numbers; use int(a, b) or choice(…) instead of \(distribution)")
        case (.text, .choice):
            break
        case (.text, _):
            throw TuneError.invalidSpace(entry: name, detail: "\(summary) takes text; use choice(…) instead of \(distribution)")
        }
    }

    /// The `nn train` arguments that set `assignment`, in rank order.
    ///
    /// Never traps: an assignment read from a study database is not re-validated, so a value that no
    /// `Int` can hold is passed as written, for `nn train` to refuse with its own message.
    public static func trainArguments(for assignment: Assignment) -> [String] {
        var args: [String] = []
        for h in all {
            guard let value = assignment[h.name], let option = h.option else { continue }
            args += [option, h.kind == .integer ? wholeNumber(value).map(String.init) ?? value.argument : value.argument]
        }
        if assignment["hidden"] != nil || assignment["depth"] != nil {
            let units = assignment["hidden"].map { wholeNumber($0) ?? 0 } ?? defaultHiddenUnits
            let depth = assignment["depth"].map { wholeNumber($0) ?? 0 } ?? defaultDepth
            // The depth is clamped so that a hostile stored value cannot build a gigantic string here.
            args += ["--layers", Array(repeating: String(units), count: min(max(depth, 1), maximumDepth)).joined(separator: ",")]
        }
        return args
    }

    /// The value rounded to an `Int`, or nil for text, NaN or a magnitude no `Int` holds.
    static func wholeNumber(_ value: ParameterValue) -> Int? {
        value.numericValue.flatMap { Int(exactly: $0.rounded()) }
    }
}
