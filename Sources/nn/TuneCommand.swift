import ArgumentParser
import Foundation
import NNTune

/// `nn tune`: hyperparameter search, each trial an `nn train` worker process, the study in SQLite or
/// PostgreSQL (shared by `nn tune worker` processes on other machines).
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search hyperparameters by running `nn train` trials in worker processes.",
        discussion: """
            Trials run as `nn train <train arguments> <hyperparameters> --out DIR --json`; give the train \
            arguments after `--`, e.g. `nn tune --study fm --trials 30 -- --data fashion-mnist --epochs 5`. \
            Running the same --study again resumes it: finished trials are kept, interrupted ones re-run. \
            A running study is locked: a second `nn tune run` on it is refused with the first one's PID. \
            Ctrl-C or SIGTERM stops a study cleanly (running trials are stopped and re-run on resume; exit 130 or 143), \
            and workers die with their tuner. \
            --sampler tpe draws where the best finished trials are dense; --prune asha stops unpromising trials early. \
            With --storage postgresql://USER@HOST/DB the study lives on a PostgreSQL server, and \
            `nn tune worker --storage URL --study NAME` on any number of machines runs its trials too.
            """,
        subcommands: [TuneRunCommand.self, TuneWorkerCommand.self, TuneReportCommand.self, TuneListCommand.self, TuneCopyCommand.self],
        defaultSubcommand: TuneRunCommand.self)

    /// `nn tune --help` (and `nn help tune`): ArgumentParser would list only the subcommands, but
    /// `run` is what `nn tune` does, so its options and the space format come first.
    static func helpText(for arguments: [String]) -> String? {
        let asksForHelp = arguments == ["tune", "--help"] || arguments == ["tune", "-h"] || arguments == ["help", "tune"]
        guard asksForHelp else { return nil }
        return """
            OVERVIEW: \(configuration.abstract)

            \(configuration.discussion)

            `nn tune` runs a study (`nn tune run`, the default subcommand); `nn tune worker` runs trials of one \
            from another process or machine, `nn tune report --study NAME` shows one, `nn tune list` lists them, \
            `nn tune copy` moves one between stores (see `nn tune <subcommand> --help`). The options of `nn tune [run]`:

            """ + "\n" + NNTool.helpMessage(for: TuneRunCommand.self)
    }
}

/// `--prune` rules.
enum PruneRule: String, CaseIterable, ExpressibleByArgument {
    case median, asha
}

/// `--asha-reference`: what an ASHA rung ranks a trial among.
enum AshaReference: String, CaseIterable, ExpressibleByArgument {
    case startup, all
}

/// Options naming a study, shared by `run` and `report`.
struct StudyOptions: ParsableArguments {
    @Option(name: .long, help: "Study name; its files live in <root>/<name>/.")
    var study: String

    @Option(name: .long, help: "Folder holding studies (and, on this machine, their trial folders).")
    var root: String = "runs/tune"

    @Option(name: .long, help: ArgumentHelp(
        "Where the study is stored: a SQLite file (default <root>/<study>/study.sqlite) or postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE; default $NN_TUNE_STORAGE.",
        valueName: "url"))
    var storage: String?

    func location() throws -> StudyLocation {
        try StudyLocation(root: URL(fileURLWithPath: root), name: study)
    }

    func resolvedStorage() throws -> StudyStorage {
        try StudyStorage.resolve(option: storage)
    }
}

struct TuneRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Create or resume a study and run its trials (the default subcommand).")

    @OptionGroup var studyOptions: StudyOptions

    @Option(help: ArgumentHelp(
        "Search space JSON file (default: around nn train's recipe: "
            + SearchSpace.recommended.entries.map { "\($0.name) \($0.distribution)" }.joined(separator: ", ") + ").",
        discussion: """
            One entry per hyperparameter, e.g. {"lr": "logUniform(1e-4, 1)", "optimizer": "fixed(momentum)", \
            "momentum": "oneMinusLogUniform(0.9, 0.999)", "hidden": "int(64, 512)", "batch": "choice(64, 128, 256)"}. \
            Distributions: uniform(a, b), int(a, b), logUniform(a, b), oneMinusLogUniform(a, b), choice(…), fixed(x); or {"dist": …, "low": …, "high": …}. \
            Hyperparameters: \(Hyperparameter.all.map(\.name).joined(separator: ", ")).
            """,
        valueName: "file"))
    var space: String?

    @Option(help: "random (default: independent draws, as the course teaches), grid, tpe (random start-up trials, then draws where the best finished trials are dense) or gp (Latin-hypercube start-up trials, then Bayesian optimisation with a Gaussian process: draws where the expected improvement is largest).")
    var sampler: String?

    @Option(parsing: .unconditional, help: "Seed of the random sampler (default 1).")
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "Trials per round for the random sampler (default 20); raising it on an existing study adds trials to it.")
    var trials: Int?

    @Option(parsing: .unconditional, help: "Coarse-to-fine rounds; each shrinks the box around the best trials (default 1).")
    var rounds: Int?

    @Option(name: .customLong("grid-points"), parsing: .unconditional, help: "Values per hyperparameter for the grid sampler (default 3).")
    var gridPoints: Int?

    @Option(name: .customLong("keep-fraction"), parsing: .unconditional, help: "Share of a round's best trials the next box is fitted around (default 0.25).")
    var keepFraction: Double?

    @Option(parsing: .unconditional, help: "Trials run at once here, each in its own worker process; 0 leaves every trial to `nn tune worker` processes.")
    var parallel: Int = 1

    @Option(help: ArgumentHelp("Stop unpromising trials at epoch boundaries: median (below the median of completed trials at that epoch) "
        + "or asha (successive halving: at epochs --min-epochs·--reduction^k, keep the top 1/--reduction).", valueName: "rule"))
    var prune: PruneRule?

    // The rule-specific options are optional so that one given without its --prune rule is refused
    // rather than silently ignored; nil keeps the pruner's own default, which the help names.
    @Option(name: .customLong("min-epochs"), parsing: .unconditional, help: "ASHA: the first rung, in epochs (default 1).")
    var minEpochs: Int?

    @Option(parsing: .unconditional, help: "ASHA: the reduction factor η between rungs (keep the top 1/η; default 3).")
    var reduction: Int?

    @Option(name: .customLong("asha-reference"), help: ArgumentHelp(
        "ASHA with --sampler tpe or gp: take a rung's top 1/η among the sampler's random start-up trials (startup, the default), "
        + "or among every trial there, most of them drawn by the model (all). Random samplers always use all.", valueName: "startup|all"))
    var ashaReference: AshaReference?

    @Option(name: .customLong("prune-min-trials"), parsing: .unconditional, help: "Median rule: completed trials needed before pruning starts (default 3).")
    var pruneMinTrials: Int?

    @Option(name: .customLong("prune-warmup"), parsing: .unconditional, help: "Median rule: epochs (from the first) that are never pruned (default 1).")
    var pruneWarmup: Int?

    @Option(name: .customLong("trial-timeout"), parsing: .unconditional, help: "Seconds after which a trial fails.")
    var trialTimeout: Double?

    @Option(parsing: .unconditional, help: "Seconds between the heartbeats a worker sends for each running trial.")
    var heartbeat: Double = TrialRules().heartbeatInterval

    @Option(parsing: .unconditional, help: "Seconds without a heartbeat after which a running trial's worker is presumed dead and the trial runs again.")
    var grace: Double = TrialRules().gracePeriod

    @Option(name: .customLong("max-attempts"), parsing: .unconditional, help: "Attempts a trial gets when its workers keep dying; then it fails.")
    var maxAttempts: Int = TrialRules().maximumAttempts

    @Option(help: "Worker executable (default: this nn).")
    var worker: String?

    @Option(name: .customLong("metrics-file"), help: "Per-epoch metrics file (JSON lines) workers write in --out.")
    var metricsFile: String = "metrics.jsonl"

    @Argument(parsing: .postTerminator, help: "Arguments for every `nn train` trial, after `--`.")
    var trainArguments: [String] = []

    /// Each rule's own options only with that rule: `--min-epochs 3` without `--prune asha` would
    /// otherwise run the study unpruned while looking configured.
    private func checkPruningOptions() throws {
        let given: [(option: String, rule: PruneRule, isSet: Bool)] = [
            ("--min-epochs", .asha, minEpochs != nil), ("--reduction", .asha, reduction != nil),
            ("--asha-reference", .asha, ashaReference != nil),
            ("--prune-min-trials", .median, pruneMinTrials != nil), ("--prune-warmup", .median, pruneWarmup != nil),
        ]
        for option in given where option.isSet && prune != option.rule {
            let fix = prune == nil ? "add --prune \(option.rule.rawValue)" : "use --prune \(option.rule.rawValue)"
            throw ValidationError("\(option.option) applies to --prune \(option.rule.rawValue)"
                                  + (prune.map { ", not --prune \($0.rawValue)" } ?? ", which is not given") + "; \(fix) or drop \(option.option)")
        }
    }

    func run() throws {
        // Everything given is validated before anything is created: a refused space or option leaves
        // no study folder or database behind.
        let location = try studyOptions.location()
        let samplerKind: SamplerKind?
        if let sampler {
            guard let kind = SamplerKind(rawValue: sampler.lowercased()) else {
                throw ValidationError("unknown sampler '\(sampler)'; use random, grid, tpe or gp")
            }
            samplerKind = kind
        } else {
            samplerKind = nil
        }
        let request = StudyRequest(
            space: try space.map { try SearchSpace(contentsOf: $0) }, sampler: samplerKind, seed: seed,
            trialsPerRound: trials, rounds: rounds, gridPoints: gridPoints, keepFraction: keepFraction,
            trainArguments: trainArguments.isEmpty ? nil : trainArguments)
        try checkPruningOptions()
        let pruner = prune.map { rule -> PrunerSetting in
            switch rule {
            case .median:
                var median = MedianPruner()
                if let pruneMinTrials { median.minimumCompleted = pruneMinTrials }
                if let pruneWarmup { median.warmupEpochs = pruneWarmup }
                return .median(median)
            case .asha:
                var asha = AshaPruner()
                if let minEpochs { asha.minimumEpochs = minEpochs }
                if let reduction { asha.reduction = reduction }
                return .asha(asha)
            }
        }
        let options = ExecutionOptions(
            parallel: parallel,
            rules: TrialRules(pruner: pruner, trialTimeout: trialTimeout, heartbeatInterval: heartbeat, gracePeriod: grace,
                              maximumAttempts: maxAttempts))
        try options.validate(allowingNone: true)
        let executable = try worker.map(Self.checkedWorker) ?? Self.currentExecutable()
        let storage = try studyOptions.resolvedStorage()
        let exists = try storage.exists(location)
        if !exists {
            // A new study's settings, checked now; resolved again below in case another tuner created it meanwhile.
            let fresh = try request.resolve(stored: nil, studyName: location.name)
            try Self.checkSearchedFlagsAreRead(fresh.space, trainArguments: fresh.trainArguments)
        }

        try FileManager.default.createDirectory(at: location.directory, withIntermediateDirectories: true)
        let lock = try StudyLock(directory: location.directory, studyName: location.name)
        defer { lock.release() }
        // Caught from here on, so that a stop ends the study cleanly instead of killing the tuner.
        let signals = StopSignals()
        defer { withExtendedLifetime(signals) {} }
        let store = try storage.open(location, create: true)
        try store.takeCoordinatorRole(studyName: location.name)
        let stored = try store.configuration()
        let configuration = try request.resolve(stored: stored, studyName: location.name)
        if configuration != stored {
            if let stored, configuration.trialsPerRound != stored.trialsPerRound {
                say("extending study \(location.name) from \(stored.trialsPerRound) to \(configuration.trialsPerRound) trials per round")
            }
            try store.saveConfiguration(configuration)
        }
        say(stored != nil ? "resuming study \(location.name) (\(store.path))" : "new study \(location.name) (\(store.path))")
        var execution = options
        execution.stopRequest = signals.request
        if case let .asha(rule)? = execution.rules.pruner, (ashaReference ?? .startup) == .startup {
            execution.rules.pruner = .asha(rule.comparingWithStartup(of: configuration.sampler))
        }
        let runner = StudyRunner(
            store: store, configuration: configuration, directory: location.directory,
            worker: WorkerCommand(executable: executable, metricsFileName: metricsFile), options: execution,
            log: say)
        do {
            try runner.run()
        } catch let TuneError.interrupted(signal) {
            let done = (try? store.trials(status: .done).count) ?? 0
            let total = (try? store.trials().count) ?? 0
            throw CommandFailure(
                message: "study \(location.name) stopped by \(signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)") "
                    + "with \(done) of \(total) planned trials done; its running trials were stopped and go back to pending. "
                    + "Resume it with: nn tune run --study \(location.name) --root \(StudyReport.shellQuoted(studyOptions.root))"
                    + (studyOptions.storage.map { " --storage \(StudyReport.shellQuoted($0))" } ?? ""),
                exitCode: 128 + signal)
        }
        let report = try StudyReport.forTrainCommand(name: location.name, store: store)
        say(report.table(top: 10))
        let plots = try report.writePlots(to: location.reportDirectory, top: 5)
        say("plots: \(location.reportDirectory.path) (\(plots.count) SVG files)")
    }

    /// Refuses a space that searches a flag no trial reads, such as momentum while every trial runs
    /// Adam (`nn train`'s default): the study would spend its budget on a dimension that changes
    /// nothing. Each trial's optimiser and schedule are the space's choices when it searches them,
    /// else what the trial arguments (or `nn train`'s defaults) fix. Arguments that do not parse are
    /// left for the trials to report.
    static func checkSearchedFlagsAreRead(_ space: SearchSpace, trainArguments: [String]) throws {
        guard let fixed = try? TrainCommand.parse(trainArguments) else { return }
        func searched<T: RawRepresentable<String>>(_ name: String, fixedValue: T) -> [T] {
            guard case let .choice(values)? = space.distribution(of: name) else { return [fixedValue] }
            return values.compactMap { value in
                if case let .text(text) = value { return T(rawValue: text) }
                return nil
            }
        }
        let optimizers = searched("optimizer", fixedValue: fixed.optimizer)
        let schedules = searched("schedule", fixedValue: fixed.schedule)
        for entry in space.entries {
            guard let option = Hyperparameter.named(entry.name)?.option,
                  let conditional = TrainCommand.conditionalFlags.first(where: { $0.flag == option }) else { continue }
            let read = optimizers.contains { optimizer in
                schedules.contains { conditional.reads(optimizer, $0, fixed.batchnorm) }
            }
            guard !read else { continue }
            throw ValidationError(
                "the space searches \(entry.name), but no trial reads it: \(option) has no effect without \(conditional.readBy), and every "
                    + "trial runs --optimizer \(optimizers.map(\.rawValue).joined(separator: "/")), "
                    + "--schedule \(schedules.map(\.rawValue).joined(separator: "/")); fix what reads it (in the space, e.g. "
                    + "\"optimizer\": \"fixed(momentum)\", or after --) or drop \(entry.name) from the space")
        }
    }

    /// A `--worker` that can be run, so a typo fails now rather than as every trial's error.
    static func checkedWorker(_ path: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CommandFailure.usage("--worker \(path) is not an executable file; give the path of an nn build, or omit --worker")
        }
        return path
    }

    /// This process's own executable, so workers run the same `nn` build as the tuner.
    static func currentExecutable() throws -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        if let path = Bundle.main.executablePath { return path }
        throw TuneError.workerLaunch(executable: "nn", detail: "cannot locate this executable for the workers; pass --worker PATH")
    }
}

struct TuneReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show a study's best trials and each round's box; write SVG plots.")

    @OptionGroup var studyOptions: StudyOptions

    @Option(parsing: .unconditional, help: "How many of the best trials to list (and to draw learning curves for, up to 8).")
    var top: Int = 10

    @Flag(help: "Print the report as one JSON object instead of a table.")
    var json = false

    @Option(help: "Folder for the SVG plots (default: <root>/<study>/report).")
    var plots: String?

    func run() throws {
        let location = try studyOptions.location()
        guard top >= 1 else { throw ValidationError("--top \(top) must be ≥ 1") }
        let store = try studyOptions.resolvedStorage().open(location, create: false, readOnly: true)
        let report = try StudyReport.forTrainCommand(name: location.name, store: store)
        let directory = plots.map { URL(fileURLWithPath: $0) } ?? location.reportDirectory
        let written = try report.writePlots(to: directory, top: min(top, 8))
        if json {
            say(try report.json(top: top))
        } else {
            say(report.table(top: top))
            say("plots: \(directory.path) (\(written.count) SVG files)")
        }
    }
}

struct TuneListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the studies under --root, or in the PostgreSQL database --storage names: trials by state, best result.")

    @Option(help: "Folder holding SQLite studies (<root>/<name>/study.sqlite).")
    var root: String = "runs/tune"

    @Option(help: ArgumentHelp("A PostgreSQL database whose studies to list instead (default: $NN_TUNE_STORAGE when it names one).",
                               valueName: "url"))
    var storage: String?

    @Flag(help: "One JSON object per study instead of a line.")
    var json = false

    func run() throws {
        let store = try StudyStorage.resolve(option: storage)
        var studies: [(name: String, report: Result<StudyReport, Error>)] = []
        if store.isShared {
            studies = try store.studyListing()
        } else if storage != nil {
            throw CommandFailure.usage("--storage \(store) is one study's file; nn tune report --storage FILE --study NAME shows it")
        } else {
            // The folders' own files, even when NN_TUNE_STORAGE names one SQLite file for the other commands.
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
            for name in names.sorted() {
                guard let location = try? StudyLocation(root: URL(fileURLWithPath: root), name: name), location.exists else { continue }
                studies.append((name, Result {
                    try StudyReport(name: name, store: try StudyStorage.sqlite(path: nil).open(location, create: false, readOnly: true), epochs: false)
                }))
            }
        }
        if studies.isEmpty, !json {
            say(store.isShared ? "no studies in \(store)" : "no studies under \(root) (nn tune run --study NAME -- --data … makes one)")
        }
        for (name, read) in studies {
            switch read {
            case let .success(report) where json:
                let best = report.ranked.first
                var object: [String: Any] = ["study": name, "trials": report.trials.count, "sampler": report.configuration.sampler.rawValue,
                                             "best_dev_accuracy": best?.result?.devAccuracy ?? NSNull(), "best_trial": best?.id ?? NSNull()]
                for status in TrialStatus.allCases { object[status.rawValue] = report.count(status) }
                say(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            case let .success(report):
                let best = report.ranked.first.flatMap { t in t.result.map { String(format: "; best dev accuracy %.2f %% (trial %d)", $0.devAccuracy * 100, t.id) } }
                say(report.summary + (best ?? ""))
            case let .failure(error) where json:
                say(String(decoding: try JSONSerialization.data(withJSONObject: ["study": name, "error": "\(error)"], options: [.sortedKeys]),
                           as: UTF8.self))
            case let .failure(error):
                say("study \(name): cannot be read: \(error)")
            }
        }
    }
}

struct TuneWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run trials of an existing study here, until it is complete.",
        discussion: """
            Claims pending trials of the study from its store one at a time (no trial runs twice), runs each as \
            `nn train` does under `nn tune run`, streams its per-epoch dev metrics (so pruning sees every worker's \
            trials), and records its result. Start any number, on any machines that reach the store: \
            nn tune worker --storage postgresql://USER@HOST/DB --study NAME --parallel 2. Trial folders go under \
            <root>/<study>/trials/ on this machine, and the study's train arguments (data paths) must be valid here. \
            A worker that dies loses at most its running trials, which run again elsewhere after the study's \
            --grace period; its `nn train` processes die with it. It stops when the study is complete, or when \
            nothing is pending and the coordinator (`nn tune run`) has been silent for longer than the grace period.
            """)

    @OptionGroup var studyOptions: StudyOptions

    @Option(parsing: .unconditional, help: "Trials run at once by this worker, each in its own process.")
    var parallel: Int = 1

    @Option(help: "Worker executable (default: this nn).")
    var worker: String?

    func run() throws {
        let location = try studyOptions.location()
        try ExecutionOptions(parallel: parallel).validate()
        let executable = try worker.map(TuneRunCommand.checkedWorker) ?? TuneRunCommand.currentExecutable()
        let store = try studyOptions.resolvedStorage().open(location, create: false)
        try FileManager.default.createDirectory(at: location.directory, withIntermediateDirectories: true)
        let signals = StopSignals()
        defer { withExtendedLifetime(signals) {} }
        let studyWorker = try StudyWorker(store: store, name: location.name, directory: location.directory,
                                          command: WorkerCommand(executable: executable), parallel: parallel,
                                          stopRequest: signals.request, log: say)
        say("worker \(WorkerIdentity.current) on study \(location.name) (\(store.path)): up to \(parallel) trial\(parallel == 1 ? "" : "s") at once")
        let ending: StudyWorker.Ending
        do {
            ending = try studyWorker.run()
        } catch let TuneError.interrupted(signal) {
            throw CommandFailure(message: "worker stopped by \(signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"); "
                                    + "its running trials were stopped and go back to pending", exitCode: 128 + signal)
        }
        switch ending {
        case .studyComplete:
            say("study \(location.name) is complete")
        case let .coordinatorGone(seconds, owner):
            throw CommandFailure.failed(
                "study \(location.name) has no pending trials, and its coordinator\(owner.map { " (\($0))" } ?? "") has been silent for "
                    + "\(Int(seconds)) s, longer than the grace period; the study is not complete: continue it with "
                    + "`nn tune run --study \(location.name) --storage URL`, then start the workers again")
        }
    }
}

struct TuneCopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a study between stores, e.g. from its SQLite file to PostgreSQL.",
        discussion: """
            nn tune copy --study fm --to postgresql://USER@HOST/DB copies study fm from runs/tune/fm/study.sqlite; \
            --from names another source. Everything is copied (configuration, rounds, trials with their ids, results \
            and per-epoch metrics), in one transaction; a study of that name already in the destination is refused.
            """)

    @Option(help: "Study name.")
    var study: String

    @Option(help: "Folder holding SQLite studies.")
    var root: String = "runs/tune"

    @Option(help: ArgumentHelp("Source store (default: $NN_TUNE_STORAGE, else <root>/<study>/study.sqlite).", valueName: "url"))
    var from: String?

    @Option(help: ArgumentHelp("Destination store: a SQLite file or postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE.", valueName: "url"))
    var to: String

    func run() throws {
        let location = try StudyLocation(root: URL(fileURLWithPath: root), name: study)
        let source = try StudyStorage.resolve(option: from)
        let destination = try StudyStorage(parsing: to)
        guard source != destination else { throw CommandFailure.usage("--from and --to name the same store") }
        let original = try source.open(location, create: false, readOnly: true)
        guard try !destination.exists(location) else {
            throw CommandFailure.usage("study \(study) already exists in \(destination); copy refuses to merge two studies: choose another destination or --study")
        }
        if let path = destination.sqlitePath(for: location) {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        let copy = try destination.open(location, create: true)
        let counts = try original.copy(to: copy)
        say("copied study \(study) from \(original.path) to \(copy.path): \(counts.trials) trials, \(counts.epochs) epoch records")
    }
}

/// Writes a line to stdout unbuffered, so progress shows at once even when piped to a file.
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

extension StudyReport {
    /// The report of a study whose trials run `nn train`: its reproduction commands leave out the flags
    /// their runs would not read.
    fileprivate static func forTrainCommand(name: String, store: StudyStore) throws -> StudyReport {
        var report = try StudyReport(name: name, store: store)
        report.unreadArgumentsRemover = TrainCommand.removingUnreadFlags
        return report
    }
}
