import Foundation

/// Where a study lives on disk: `<root>/<name>/study.sqlite`, trial folders under
/// `<root>/<name>/trials/`, plots under `<root>/<name>/report/`.
public struct StudyLocation: Sendable {
    /// The folder holding every study.
    public let root: URL
    /// The study's name (a folder name).
    public let name: String

    /// Throws unless `name` is a plain folder name (letters, digits, `.`, `_`, `-`; not starting with `.`).
    public init(root: URL, name: String) throws {
        let allowed = name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) }
        guard !name.isEmpty, allowed, !name.hasPrefix("."), name.count <= 100 else {
            throw TuneError.invalidStudy(name: name, detail: "a study name may use letters, digits, '.', '_' and '-' (not starting with '.'), e.g. fmnist-lr")
        }
        self.root = root
        self.name = name
    }

    /// The study's folder.
    public var directory: URL { root.appendingPathComponent(name) }
    /// Its SQLite database.
    public var database: URL { directory.appendingPathComponent("study.sqlite") }
    /// Where `nn tune report` writes plots.
    public var reportDirectory: URL { directory.appendingPathComponent("report") }

    /// Whether the study's database exists.
    public var exists: Bool { FileManager.default.fileExists(atPath: database.path) }
}

/// The study settings a user gave on the command line; nil means "not given".
///
/// A new study fills the gaps with defaults. A resumed study keeps its stored settings, and a
/// given setting that differs from the stored one is an error rather than silently ignored or
/// silently changing what the remaining trials mean.
public struct StudyRequest: Sendable {
    /// The search space asked for (nil: the stored one, or the recommended one).
    public var space: SearchSpace?
    /// The sampler asked for.
    public var sampler: SamplerKind?
    /// The seed asked for.
    public var seed: UInt64?
    /// Trials per round asked for.
    public var trialsPerRound: Int?
    /// Rounds asked for.
    public var rounds: Int?
    /// Grid points asked for.
    public var gridPoints: Int?
    /// Keep fraction asked for.
    public var keepFraction: Double?
    /// `nn train` arguments asked for.
    public var trainArguments: [String]?

    /// What a command line asks of a study; nil leaves a setting to the stored study or the default.
    public init(space: SearchSpace? = nil, sampler: SamplerKind? = nil, seed: UInt64? = nil, trialsPerRound: Int? = nil,
                rounds: Int? = nil, gridPoints: Int? = nil, keepFraction: Double? = nil, trainArguments: [String]? = nil) {
        self.space = space
        self.sampler = sampler
        self.seed = seed
        self.trialsPerRound = trialsPerRound
        self.rounds = rounds
        self.gridPoints = gridPoints
        self.keepFraction = keepFraction
        self.trainArguments = trainArguments
    }

    /// The configuration to run: `stored` when resuming (after checking for conflicts), else a new one.
    public func resolve(stored: StudyConfiguration?, studyName: String) throws -> StudyConfiguration {
        guard let stored else {
            // StudyConfiguration's initialiser holds the defaults; only what was given replaces them.
            var c = StudyConfiguration(space: space ?? .recommended)
            if let sampler { c.sampler = sampler }
            if let seed { c.seed = seed }
            if let trialsPerRound { c.trialsPerRound = trialsPerRound }
            if let rounds { c.rounds = rounds }
            if let gridPoints { c.gridPoints = gridPoints }
            if let keepFraction { c.keepFraction = keepFraction }
            if let trainArguments { c.trainArguments = trainArguments }
            try c.validate()
            return c
        }
        func check<T: Equatable>(_ given: T?, _ kept: T, _ option: String) throws {
            if let given, given != kept {
                throw TuneError.invalidStudy(
                    name: studyName,
                    detail: "it exists with \(option) \(kept), not \(given); resume without \(option) or start a new study with another --study name")
            }
        }
        try check(space.map { $0.jsonObject.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } },
                  stored.space.jsonObject.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }, "--space")
        try check(sampler, stored.sampler, "--sampler")
        try check(seed, stored.seed, "--seed")
        var resolved = stored
        if let trialsPerRound, trialsPerRound != stored.trialsPerRound {
            // More trials extend the study (the sampler draws by trial index, so the extended study is
            // the one that would have been started with the larger count); fewer would discard results.
            guard trialsPerRound > stored.trialsPerRound, stored.sampler != .grid else {
                try check(trialsPerRound, stored.trialsPerRound, "--trials")
                return stored
            }
            resolved.trialsPerRound = trialsPerRound
        }
        try check(rounds, stored.rounds, "--rounds")
        try check(gridPoints, stored.gridPoints, "--grid-points")
        try check(keepFraction, stored.keepFraction, "--keep-fraction")
        if let given = trainArguments, !given.isEmpty { try check(given, stored.trainArguments, "train arguments") }
        return resolved
    }
}
