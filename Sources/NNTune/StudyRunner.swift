import Foundation

/// How this process takes part in a study; unlike ``StudyConfiguration`` these may change on resume.
public struct ExecutionOptions: Sendable {
    /// Trials this process runs at once, each in its own worker process; 0 for a coordinator that
    /// leaves every trial to `nn tune worker` processes.
    public var parallel: Int
    /// The rules every worker applies (stored with the study by the coordinator).
    public var rules: TrialRules
    /// How often running workers are checked.
    public var pollInterval: TimeInterval
    /// Once set (by SIGINT/SIGTERM), no trial starts, running workers are stopped, their trials go
    /// back to pending, and ``StudyRunner/run()`` throws ``TuneError/interrupted(signal:)``.
    public var stopRequest: StopRequest?

    /// Options for running trials here; `pruner` and `trialTimeout` override `rules`.
    public init(parallel: Int = 1, pruner: PrunerSetting? = nil, trialTimeout: TimeInterval? = nil,
                pollInterval: TimeInterval = 0.1, stopRequest: StopRequest? = nil, rules: TrialRules? = nil) {
        self.parallel = parallel
        var rules = rules ?? TrialRules()
        if let pruner { rules.pruner = pruner }
        if let trialTimeout { rules.trialTimeout = trialTimeout }
        self.rules = rules
        self.pollInterval = pollInterval
        self.stopRequest = stopRequest
    }

    /// More workers than this would exhaust processes and file descriptors long before it helped.
    public static let maximumParallel = 256

    /// Checks the options; `allowingNone` accepts `parallel` 0 (a coordinator that runs no trial).
    public func validate(allowingNone: Bool = false) throws {
        guard parallel >= (allowingNone ? 0 : 1) else {
            throw TuneError.invalidOption(name: "--parallel", detail: "\(parallel) must be ≥ \(allowingNone ? 0 : 1)")
        }
        guard parallel <= Self.maximumParallel else {
            throw TuneError.invalidOption(name: "--parallel", detail: "\(parallel) is above the limit of \(Self.maximumParallel) worker processes")
        }
        try rules.validate()
    }
}

/// Coordinates a study to completion: plans each round's trials, runs `parallel` of them in worker
/// processes on this machine while `nn tune worker` processes elsewhere may run others (every trial
/// is claimed from the store by exactly one), re-queues trials whose worker went silent, and after
/// each round shrinks the box around the best trials (coarse to fine).
///
/// Resuming is the same call on the same store: finished trials stay as they are, trials a dead
/// process left `running` run again from scratch unless their worker finished (see
/// `TrialRecovery`), pending ones run, and the remaining rounds follow. A worker that crashes
/// fails its own trial only. The caller holds the study's coordinator lock (``StudyLock``).
///
/// Every local worker is started from the thread that calls ``run()``, which must live as long as
/// the study: workers ask to die with the thread that spawned them (see `WorkerProcess`).
public final class StudyRunner {
    /// The study's database.
    public let store: StudyStore
    /// The study's definition.
    public let configuration: StudyConfiguration
    /// The study's folder on this machine.
    public let directory: URL
    /// How trials are started.
    public let worker: WorkerCommand
    /// Parallelism, rules and stop request.
    public let options: ExecutionOptions
    private let log: (String) -> Void
    private let executor: TrialExecutor
    private var lastHousekeeping = Date.distantPast
    private var saidWaiting = false

    /// - Parameters:
    ///   - store: the study's database.
    ///   - configuration: the study's space, sampler, seed and rounds.
    ///   - directory: the study's folder on this machine; trial folders go under `trials/`.
    ///   - worker: how to start a trial (the `nn` executable and the fixed train arguments).
    ///   - options: parallel trials, pruning and time limits.
    ///   - log: receives one line per event (trial started/finished/pruned, round boxes).
    public init(store: StudyStore, configuration: StudyConfiguration, directory: URL, worker: WorkerCommand,
                options: ExecutionOptions, log: @escaping (String) -> Void) {
        self.store = store
        self.configuration = configuration
        self.directory = directory
        self.worker = worker
        self.options = options
        self.log = log
        executor = TrialExecutor(store: store, configuration: configuration, directory: directory, command: worker,
                                 parallel: options.parallel, rules: options.rules, log: log)
        if let stop = options.stopRequest { store.stopReconnecting { stop.signal != nil } }
    }

    /// Runs every unfinished trial of every round; returns when the study is complete.
    public func run() throws {
        try configuration.validate()
        try options.validate(allowingNone: true)
        try store.saveExecution(options.rules)
        try store.setComplete(false)
        try store.touchCoordinator(executor.identity)
        try recoverInterruptedTrials()
        var planned = try store.rounds()
        if planned.isEmpty {
            try plan(round: 0, box: configuration.space.fullBox)
            planned = try store.rounds()
        } else if let (round, box) = planned.last {
            try extend(round: round, box: box)
        }
        while let (round, box) = planned.last {
            try runRound(round, box: box)
            let next = round + 1
            guard next < configuration.rounds else { break }
            let completed = try store.trials(round: round, status: .done).compactMap { t in
                t.result.map { (assignment: t.assignment, objective: $0.devAccuracy) }
            }
            guard !completed.isEmpty else {
                throw TuneError.invalidStudy(
                    name: directory.lastPathComponent,
                    detail: "no trial of round \(round + 1) completed, so there is nothing to refine around; "
                        + "see the trials' stderr.log under \(directory.appendingPathComponent("trials").path)")
            }
            try plan(round: next, box: box.shrunk(around: completed, in: configuration.space,
                                                  keepFraction: configuration.keepFraction))
            planned = try store.rounds()
        }
        try store.setComplete(true)
    }

    /// Stops the orphans of a process that died, records the trials they finished, and puts its
    /// `running` trials back to pending.
    private func recoverInterruptedTrials() throws {
        try TrialRecovery(store: store, trialsDirectory: directory.appendingPathComponent("trials"), worker: worker, log: log).run()
    }
    private func plan(round: Int, box: SearchBox) throws {
        let assignments: [Assignment]
        switch configuration.sampler {
        case .tpe, .gp:
            // Drawn one at a time as workers free up (see nextModelBasedTrial), from what has finished by then.
            assignments = []
        case .random:
            assignments = RandomSampler(seed: configuration.seed)
                .assignments(round: round, count: configuration.trialsPerRound, box: box, space: configuration.space)
        case .grid:
            let grid = GridSampler(points: configuration.gridPoints)
            try grid.checkSize(box: box, space: configuration.space)
            assignments = grid.assignments(box: box, space: configuration.space)
        }
        try store.addRound(round, box: box, assignments: assignments)
        log("round \(round + 1) of \(configuration.rounds): \(assignments.count) trials (\(configuration.sampler.rawValue)) in")
        for line in box.describe(in: configuration.space) { log("  \(line)") }
    }

    /// Tops round `round` up to the configured trials per round (a study resumed with a larger
    /// `--trials`). Earlier rounds stay as they are: the later boxes were fitted to their trials.
    private func extend(round: Int, box: SearchBox) throws {
        guard configuration.sampler == .random else { return }  // model-based samplers top their rounds up as they go
        let existing = try store.trials(round: round).count
        guard existing < configuration.trialsPerRound else { return }
        let sampler = RandomSampler(seed: configuration.seed)
        let added = (existing..<configuration.trialsPerRound).map {
            sampler.assignment(round: round, trial: $0, box: box, space: configuration.space)
        }
        try store.addTrials(round: round, assignments: added)
        log("round \(round + 1): \(added.count) more trial\(added.count == 1 ? "" : "s") (now \(configuration.trialsPerRound))")
    }

    /// Runs round `round` until each of its trials has ended, here or in other workers.
    private func runRound(_ round: Int, box: SearchBox) throws {
        while true {
            // Read once per pass, so that one pass never starts a worker after stopping others.
            if let stopSignal = options.stopRequest?.signal {
                executor.stopAll(signal: stopSignal, urgent: options.stopRequest?.isUrgent == true)
                if executor.active.isEmpty { throw TuneError.interrupted(signal: stopSignal) }
            } else {
                try topUpModelBasedTrials(round: round, box: box)
                try executor.startTrials()
            }
            try housekeeping()
            if executor.active.isEmpty, options.stopRequest?.signal == nil, try isComplete(round: round) { return }
            if options.parallel == 0, !saidWaiting, try store.pendingCount() > 0 {
                saidWaiting = true
                log("waiting for workers to claim the pending trials: nn tune worker --study \(directory.lastPathComponent) --storage \(store.path)")
            }
            executor.waitForOutput(upTo: options.pollInterval)
            try executor.poll()
        }
    }

    /// True once every trial of `round` has ended and the round has all its trials.
    private func isComplete(round: Int) throws -> Bool {
        let trials = try store.trials(round: round)
        guard trials.allSatisfy({ $0.status.isFinished }) else { return false }
        return !configuration.sampler.isModelBased || trials.count >= configuration.trialsPerRound
    }

    /// Every heartbeat interval: says the coordinator is alive, and re-queues (or, past the retry
    /// limit, fails) trials whose worker has gone silent.
    private func housekeeping() throws {
        guard Date().timeIntervalSince(lastHousekeeping) >= options.rules.heartbeatInterval else { return }
        lastHousekeeping = Date()
        try store.touchCoordinator(executor.identity)
        try executor.reclaimSilentTrials()
    }

    /// With a model-based sampler: draws as many new trials as there are free slots here and idle workers
    /// elsewhere, from every trial finished by now, as late as possible (see ``nextModelBasedTrial``).
    private func topUpModelBasedTrials(round: Int, box: SearchBox) throws {
        guard configuration.sampler.isModelBased else { return }
        let wanted = executor.freeSlots + (try store.idleSlots(within: max(2, 4 * options.pollInterval))) - (try store.pendingCount())
        for _ in 0..<max(0, wanted) {
            guard try nextModelBasedTrial(round: round, box: box) != nil else { break }
        }
    }

    /// With a model-based sampler: the round's next trial, drawn from every finished trial of the
    /// study, and stored as pending; nil when the round has all its trials. A pruned trial counts with
    /// the last dev accuracy it reached plus the median of what completed trials gained after that
    /// epoch (its figure after one epoch would rank a promising region below a mediocre one that ran
    /// to the end); failed ones (a diverged rate, a crash) count as 0: left out, they would leave
    /// their region looking unexplored, and the sampler would keep drawing there. The GP sampler also
    /// sees the trials not yet finished, so that draws made together spread out.
    private func nextModelBasedTrial(round: Int, box: SearchBox) throws -> TrialRecord? {
        guard configuration.sampler.isModelBased else { return nil }
        let trials = try store.trials()
        let planned = trials.filter { $0.round == round }.count
        guard planned < configuration.trialsPerRound else { return nil }
        var history: [TrialObservation] = [], unfinished: [Assignment] = []
        var medianGain: [Int: Double] = [:]
        let lastDevAccuracies = try store.lastDevAccuracies()
        for t in trials {
            guard t.status.isFinished else {
                unfinished.append(t.assignment)
                continue
            }
            var objective = t.result?.devAccuracy
            if objective == nil, t.status == .pruned, let last = lastDevAccuracies[t.id] {
                if medianGain[last.epoch] == nil { medianGain[last.epoch] = MedianPruner.median(try store.completedGains(fromEpoch: last.epoch)) ?? 0 }
                objective = last.devAccuracy + (medianGain[last.epoch] ?? 0)
            }
            if t.status == .failed { objective = 0 }
            if let objective { history.append(.init(assignment: t.assignment, objective: objective)) }
        }
        let assignment: Assignment
        switch configuration.sampler {
        case .gp:
            assignment = GPSampler(seed: configuration.seed).assignment(
                round: round, trial: planned, box: box, space: configuration.space, history: history, pending: unfinished)
        default:
            assignment = TPESampler(seed: configuration.seed)
                .assignment(round: round, trial: planned, box: box, space: configuration.space, history: history)
        }
        guard let id = try store.addTrials(round: round, assignments: [assignment]).first else { return nil }
        return try store.trial(id: id)
    }
}
