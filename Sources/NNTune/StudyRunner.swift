import Foundation

/// How a study's trials are executed; unlike ``StudyConfiguration`` these may change on resume.
public struct ExecutionOptions: Sendable {
    /// Trials run at once, each in its own worker process.
    public var parallel: Int
    public var pruner: (any TrialPruner)?
    /// A trial still running after this many seconds fails.
    public var trialTimeout: TimeInterval?
    /// How often running workers are checked.
    public var pollInterval: TimeInterval
    /// Once set (by SIGINT/SIGTERM), no trial starts, running workers are stopped, their trials go
    /// back to pending, and ``StudyRunner/run()`` throws ``TuneError/interrupted(signal:)``.
    public var stopRequest: StopRequest?

    public init(parallel: Int = 1, pruner: (any TrialPruner)? = nil, trialTimeout: TimeInterval? = nil,
                pollInterval: TimeInterval = 0.1, stopRequest: StopRequest? = nil) {
        self.parallel = parallel
        self.pruner = pruner
        self.trialTimeout = trialTimeout
        self.pollInterval = pollInterval
        self.stopRequest = stopRequest
    }

    /// More workers than this would exhaust processes and file descriptors long before it helped.
    public static let maximumParallel = 256

    public func validate() throws {
        guard parallel >= 1 else { throw TuneError.invalidOption(name: "--parallel", detail: "\(parallel) must be ≥ 1") }
        guard parallel <= Self.maximumParallel else {
            throw TuneError.invalidOption(name: "--parallel", detail: "\(parallel) is above the limit of \(Self.maximumParallel) worker processes")
        }
        if let t = trialTimeout, !(t > 0) {
            throw TuneError.invalidOption(name: "--trial-timeout", detail: "\(t) seconds must be > 0")
        }
    }
}

/// Runs a study to completion: plans each round's trials, runs them in worker processes
/// (`parallel` at once), records everything in the study database, and after each round shrinks
/// the box around the best trials (coarse to fine).
///
/// Resuming is the same call on the same database: finished trials stay as they are, trials a
/// dead tuner left `running` are run again from scratch unless their worker finished (see
/// ``TrialRecovery``), pending ones run, and the remaining rounds follow. A worker that crashes
/// fails its own trial only. The caller holds the study's ``StudyLock``.
///
/// Every worker is started from the thread that calls ``run()``, which must live as long as the
/// study: workers ask to die with the thread that spawned them (see ``WorkerProcess``).
public final class StudyRunner {
    public let store: StudyStore
    public let configuration: StudyConfiguration
    public let directory: URL
    public let worker: WorkerCommand
    public let options: ExecutionOptions
    private let log: (String) -> Void

    /// - Parameters:
    ///   - directory: the study's folder; trial folders go under `trials/`.
    ///   - log: receives one line per event (trial started/finished/pruned, round boxes).
    public init(store: StudyStore, configuration: StudyConfiguration, directory: URL, worker: WorkerCommand,
                options: ExecutionOptions, log: @escaping (String) -> Void) {
        self.store = store
        self.configuration = configuration
        self.directory = directory
        self.worker = worker
        self.options = options
        self.log = log
    }

    /// Runs every unfinished trial of every round; returns when the study is complete.
    public func run() throws {
        try configuration.validate()
        try options.validate()
        try recoverInterruptedTrials()
        var planned = try store.rounds()
        if planned.isEmpty {
            try plan(round: 0, box: configuration.space.fullBox)
            planned = try store.rounds()
        } else if let (round, box) = planned.last {
            try extend(round: round, box: box)
        }
        while let (round, box) = planned.last {
            try runPendingTrials(round: round, box: box)
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
    }

    /// Stops the orphans of a tuner that died, records the trials they finished, and puts the
    /// rest of its `running` trials back to pending.
    private func recoverInterruptedTrials() throws {
        try TrialRecovery(store: store, trialsDirectory: directory.appendingPathComponent("trials"), worker: worker, log: log).run()
    }

    private func plan(round: Int, box: SearchBox) throws {
        let assignments: [Assignment]
        switch configuration.sampler {
        case .tpe:
            // Drawn one at a time as workers free up (see nextModelBasedTrial), from what has finished by then.
            assignments = []
        case .random:
            assignments = RandomSampler(seed: configuration.seed)
                .assignments(round: round, count: configuration.trialsPerRound, box: box, space: configuration.space)
        case .grid:
            let grid = GridSampler(points: configuration.gridPoints)
            let count = grid.count(box: box, space: configuration.space)
            guard count <= Self.maximumGridSize else {
                throw TuneError.invalidOption(
                    name: "--grid-points",
                    detail: "the grid has \(count) points (more than \(Self.maximumGridSize)); use fewer points or hyperparameters, or --sampler random")
            }
            assignments = grid.assignments(box: box, space: configuration.space)
        }
        try store.addRound(round, box: box, assignments: assignments)
        log("round \(round + 1) of \(configuration.rounds): \(assignments.count) trials (\(configuration.sampler.rawValue)) in")
        for line in box.describe(in: configuration.space) { log("  \(line)") }
    }

    /// Tops round `round` up to the configured trials per round (a study resumed with a larger
    /// `--trials`). Earlier rounds stay as they are: the later boxes were fitted to their trials.
    private func extend(round: Int, box: SearchBox) throws {
        guard configuration.sampler == .random else { return }  // TPE tops its rounds up as it goes
        let existing = try store.trials(round: round).count
        guard existing < configuration.trialsPerRound else { return }
        let sampler = RandomSampler(seed: configuration.seed)
        let added = (existing..<configuration.trialsPerRound).map {
            sampler.assignment(round: round, trial: $0, box: box, space: configuration.space)
        }
        try store.addTrials(round: round, assignments: added)
        log("round \(round + 1): \(added.count) more trial\(added.count == 1 ? "" : "s") (now \(configuration.trialsPerRound))")
    }

    /// A grid larger than this is almost certainly a mistake (and would fill the database for nothing).
    static let maximumGridSize = 100_000

    private func runPendingTrials(round: Int, box: SearchBox) throws {
        var queue = try store.trials(round: round, status: .pending)
        var active: [WorkerProcess] = []
        while true {
            // Read once per pass, so that one pass never starts a worker after stopping others.
            let stopSignal = options.stopRequest?.signal
            if let stopSignal {
                for w in active {
                    w.stop(as: .pending, reason: "interrupted by \(signalName(stopSignal)); it runs again when the study is resumed")
                    if options.stopRequest?.isUrgent == true { w.hurryStop() }
                }
            }
            while stopSignal == nil, active.count < options.parallel {
                if queue.isEmpty, let next = try nextModelBasedTrial(round: round, box: box) { queue.append(next) }
                guard !queue.isEmpty else { break }
                let trial = queue.removeFirst()
                if let w = try start(trial) { active.append(w) }
            }
            if active.isEmpty {
                if let stopSignal { throw TuneError.interrupted(signal: stopSignal) }
                if queue.isEmpty { break }
                continue
            }
            Thread.sleep(forTimeInterval: options.pollInterval)
            var stillRunning: [WorkerProcess] = []
            for w in active {
                let running = w.isRunning
                try follow(w, mayPrune: running)
                if running {
                    if let limit = options.trialTimeout, Date().timeIntervalSince(w.startedAt) > limit {
                        w.stop(as: .failed, reason: "timed out after \(formatNumber(limit)) s (--trial-timeout)")
                    }
                    w.enforceStop()
                    stillRunning.append(w)
                } else {
                    try finish(w)
                }
            }
            active = stillRunning
        }
    }

    /// With the TPE sampler: the round's next trial, drawn from every finished trial of the study, and
    /// stored as pending; nil when the round has all its trials. Pruned trials count with the last dev
    /// accuracy they reached, failed ones (a diverged rate, a crash) as 0: left out, they would leave
    /// their region looking unexplored, and TPE would keep drawing there.
    private func nextModelBasedTrial(round: Int, box: SearchBox) throws -> TrialRecord? {
        guard configuration.sampler == .tpe else { return nil }
        let planned = try store.trials(round: round).count
        guard planned < configuration.trialsPerRound else { return nil }
        var history: [TPESampler.Observation] = []
        for t in try store.trials() where t.status.isFinished {
            var objective = t.result?.devAccuracy
            if objective == nil, t.status == .pruned { objective = try store.epochs(of: t.id).last { $0.devAccuracy != nil }?.devAccuracy }
            if t.status == .failed { objective = 0 }
            if let objective { history.append(.init(assignment: t.assignment, objective: objective)) }
        }
        let assignment = TPESampler(seed: configuration.seed)
            .assignment(round: round, trial: planned, box: box, space: configuration.space, history: history)
        guard let id = try store.addTrials(round: round, assignments: [assignment]).first else { return nil }
        return try store.trial(id: id)
    }

    /// Starts a worker for `trial`; a worker that cannot start fails its trial, not the study.
    private func start(_ trial: TrialRecord) throws -> WorkerProcess? {
        let attemptDirectory = freshAttemptDirectory(for: trial)
        let arguments = configuration.trainArguments + Hyperparameter.trainArguments(for: trial.assignment)
        let worker: WorkerProcess
        do {
            worker = try WorkerProcess(trialID: trial.id, command: self.worker, arguments: arguments, directory: attemptDirectory)
        } catch {
            try store.markRunning(trial.id, pid: 0, outputDirectory: attemptDirectory.path)
            try store.finish(trial.id, status: .failed, error: "\(error)")
            log("trial \(trial.id) failed to start: \(error)")
            return nil
        }
        try store.markRunning(trial.id, pid: worker.pid, outputDirectory: attemptDirectory.path, at: worker.startedAt)
        log("trial \(trial.id) started: \(describe(trial.assignment))")
        return worker
    }

    /// `trials/trial-0007/attempt-N` with N one past any attempt folder already there. Counting
    /// folders rather than the stored attempts matters when a tuner died between starting a worker
    /// and recording it: that orphan may still be writing into its folder, which must not be reused.
    private func freshAttemptDirectory(for trial: TrialRecord) -> URL {
        let trialDirectory = directory
            .appendingPathComponent("trials")
            .appendingPathComponent(String(format: "trial-%04d", trial.id))
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: trialDirectory.path)) ?? []
        let used = existing.compactMap { name in name.hasPrefix("attempt-") ? Int(name.dropFirst("attempt-".count)) : nil }
        let next = max(trial.attempts, used.max() ?? 0) + 1
        return trialDirectory.appendingPathComponent("attempt-\(next)")
    }

    /// Stores the worker's new epochs and applies the pruning rule to each, unless the worker has
    /// already finished: a trial that ran all its epochs keeps its result.
    private func follow(_ w: WorkerProcess, mayPrune: Bool) throws {
        let epochs = w.newEpochs()
        try store.recordEpochs(w.trialID, epochs)
        guard mayPrune, let pruner = options.pruner, w.stopRequest == nil else { return }
        for e in epochs {
            // A trial that has run all its epochs is done, whatever a rung says: pruning it would save
            // nothing and throw its result away.
            guard let dev = e.devAccuracy, e.epoch < e.plannedEpochs ?? .max else { continue }
            if let reason = try pruner.verdict(trial: w.trialID, epoch: e.epoch, devAccuracy: dev, store: store) {
                w.stop(as: .pruned, reason: reason)
                break
            }
        }
    }

    private func finish(_ w: WorkerProcess) throws {
        let elapsed = formatNumber(Date().timeIntervalSince(w.startedAt))
        // A worker that completed before a stop reached it ran all its epochs: its result stands, even
        // when the stop's signal caught it after it printed its last line.
        if w.stopRequest != nil,
           let result = try? WorkerOutput.result(fromStdout: w.stdoutText) {
            try store.finish(w.trialID, status: .done, result: result)
            log("trial \(w.trialID) done after \(elapsed) s (it finished before the stop took effect): dev accuracy \(formatPercent(result.devAccuracy))")
            return
        }
        if let request = w.stopRequest, request.status == .pending {
            try store.requeue(w.trialID, note: request.reason)
            log("trial \(w.trialID) stopped after \(elapsed) s: \(request.reason)")
            return
        }
        if let request = w.stopRequest {
            try store.finish(w.trialID, status: request.status, error: request.reason)
            log("trial \(w.trialID) \(request.status.rawValue) after \(elapsed) s: \(request.reason)")
            return
        }
        guard w.exitedCleanly else {
            let reason = "worker \(w.exitDescription): \(w.stderrTail()) (log: \(w.stderrPath))"
            try store.finish(w.trialID, status: .failed, error: reason)
            log("trial \(w.trialID) failed after \(elapsed) s: \(reason)")
            return
        }
        do {
            let result = try WorkerOutput.result(fromStdout: w.stdoutText)
            try store.finish(w.trialID, status: .done, result: result)
            log("trial \(w.trialID) done after \(elapsed) s: dev accuracy \(formatPercent(result.devAccuracy))")
        } catch let error as TuneError {
            try store.finish(w.trialID, status: .failed, error: "\(error) (log: \(w.stdoutPath))")
            log("trial \(w.trialID) failed: \(error)")
        }
    }

    private func describe(_ assignment: Assignment) -> String {
        configuration.space.names.compactMap { name in
            assignment[name].map { "\(name)=\(SearchBox.format($0))" }
        }.joined(separator: " ")
    }
}
