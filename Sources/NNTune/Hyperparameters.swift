/// The hyperparameters a search space may name, each mapped to the `nn train` option it sets.
///
/// `rank` orders them as the course ranks their importance (1 = tune first: the learning rate
/// α; 2: momentum β, hidden units, mini-batch size; 3: number of layers, learning-rate decay;
/// 4: the rest, Adam's β₁, β₂, ε last since their defaults almost always do). Spaces are kept
/// in this order, so draws, tables and plots list α first.
public struct Hyperparameter: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case real
        case integer
        case text
    }

    /// The values `nn train` accepts, checked at both ends of a range so a bad space fails before any trial runs.
    public enum Domain: Sendable, Equatable {
        case positive, nonNegative, fraction, probability, atLeastOne, any

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

    public let name: String
    /// The `nn train` option it sets, or nil for `hidden`/`depth`, which together form `--layers`.
    public let option: String?
    public let kind: Kind
    public let rank: Int
    public let summary: String
    public let domain: Domain

    /// Every hyperparameter the tuner knows, most important first; spaces list their entries in this order.
    public static let all: [Hyperparameter] = [
        .init(name: "lr", option: "--lr", kind: .real, rank: 1, summary: "learning rate α", domain: .positive),
        .init(name: "momentum", option: "--momentum", kind: .real, rank: 2, summary: "momentum β (optimizer momentum)", domain: .fraction),
        .init(name: "hidden", option: nil, kind: .integer, rank: 2, summary: "units in each hidden layer (with depth, forms --layers)", domain: .atLeastOne),
        .init(name: "batch", option: "--batch", kind: .integer, rank: 2, summary: "mini-batch size", domain: .atLeastOne),
        .init(name: "depth", option: nil, kind: .integer, rank: 3, summary: "number of hidden layers (with hidden, forms --layers)", domain: .atLeastOne),
        .init(name: "layers", option: "--layers", kind: .text, rank: 3, summary: "hidden layer sizes, e.g. \"512,256\"", domain: .any),
        .init(name: "decay", option: "--decay", kind: .real, rank: 3, summary: "learning-rate decay", domain: .nonNegative),
        .init(name: "l2", option: "--l2", kind: .real, rank: 4, summary: "L2 regularisation λ", domain: .nonNegative),
        .init(name: "l1", option: "--l1", kind: .real, rank: 4, summary: "L1 regularisation λ", domain: .nonNegative),
        .init(name: "keep", option: "--dropout", kind: .real, rank: 4, summary: "dropout keep probability", domain: .probability),
        .init(name: "epochs", option: "--epochs", kind: .integer, rank: 4, summary: "training epochs", domain: .atLeastOne),
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
        }
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
    public static func trainArguments(for assignment: Assignment) -> [String] {
        var args: [String] = []
        for h in all {
            guard let value = assignment[h.name], let option = h.option else { continue }
            args += [option, h.kind == .integer ? ParameterValue.integer(Int(value.numericValue?.rounded() ?? 0)).argument : value.argument]
        }
        if assignment["hidden"] != nil || assignment["depth"] != nil {
            let units = assignment["hidden"]?.numericValue.map { Int($0.rounded()) } ?? defaultHiddenUnits
            let depth = assignment["depth"]?.numericValue.map { Int($0.rounded()) } ?? defaultDepth
            args += ["--layers", Array(repeating: String(units), count: max(depth, 1)).joined(separator: ",")]
        }
        return args
    }
}
