import Foundation

/// Runs a study's trials on this machine, `parallel` at once, each in a worker process: claims pending
/// trials from the store, follows their epochs (pruning by the study's rules), sends their
/// heartbeats, and records how each ended. The coordinator (`nn tune run`) and every `nn tune worker`
/// run one; the store makes sure no trial runs in two of them at once.
///
/// Every worker is started from the thread that calls ``startTrials()``, which must live as long as
/// the executor: workers ask to die with the thread that spawned them (see ``WorkerProcess``).
final class TrialExecutor {
    let store: StudyStore
    let configuration: StudyConfiguration
    /// The study's folder on this machine; attempt folders go under `trials/`.
    let directory: URL
    let command: WorkerCommand
    let parallel: Int
    let rules: TrialRules
    /// This process's ``WorkerIdentity``, the owner recorded on the trials it claims.
    let identity: String
    private let log: (String) -> Void
    private(set) var active: [WorkerProcess] = []
    private var lastHeartbeat = Date.distantPast
    private let outputs = OutputWatch()

    init(store: StudyStore, configuration: StudyConfiguration, directory: URL, command: WorkerCommand, parallel: Int,
         rules: TrialRules, identity: String = WorkerIdentity.current, log: @escaping (String) -> Void) {
        self.store = store
        self.configuration = configuration
        self.directory = directory
        self.command = command
        self.parallel = parallel
        self.rules = rules
        self.identity = identity
        self.log = log
    }

    var freeSlots: Int { max(0, parallel - active.count) }

    /// Claims and starts pending trials until every slot is busy or none is pending; returns how many started.
    @discardableResult
    func startTrials() throws -> Int {
        var started = 0
        while freeSlots > 0, let trial = try store.claimPendingTrial(worker: identity) {
            if let w = try start(trial) { active.append(w) }
            started += 1
        }
        return started
    }

    /// Stops every running worker on a SIGINT/SIGTERM; their trials go back to pending (once the
    /// process has ended, in ``poll()``). `urgent` (a second signal) skips the grace period.
    func stopAll(signal: Int32, urgent: Bool) {
        for w in active {
            w.stop(as: .pending, reason: "interrupted by \(signalName(signal)); it runs again when the study is resumed")
            if urgent { w.hurryStop() }
        }
    }

    /// Waits until the next look: `seconds`, or less as soon as a running worker writes into its output
    /// folder (its epoch's figures, which may prune it).
    func waitForOutput(upTo seconds: TimeInterval) {
        outputs.watch(active.map(\.outputDirectory.path))
        outputs.wait(upTo: seconds)
    }

    /// One look at the running workers: new epochs, pruning, timeouts, heartbeats, and the end of those
    /// that exited.
    func poll() throws {
        try sendHeartbeats()
        var stillRunning: [WorkerProcess] = []
        for w in active {
            let running = w.isRunning
            try follow(w, mayPrune: running)
            if running {
                if let limit = rules.trialTimeout, Date().timeIntervalSince(w.startedAt) > limit {
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

    /// Re-queues (or, past the retry limit, fails) the trials of any worker that has gone silent, here or
    /// elsewhere: whichever live process looks first does it, so a study goes on while any runs.
    func reclaimSilentTrials() throws {
        for (t, requeued) in try store.reclaimSilentTrials(gracePeriod: rules.gracePeriod, maximumAttempts: rules.maximumAttempts) {
            log("trial \(t.id): worker \(t.worker ?? "?") sent no heartbeat for \(formatNumber(rules.gracePeriod)) s; "
                + (requeued ? "re-queued" : "failed after \(t.attempts) attempts"))
        }
    }

    /// Refreshes the heartbeats of this executor's trials every ``TrialRules/heartbeatInterval``. A trial
    /// the store no longer lists as ours was given to another worker (ours was presumed dead): its
    /// process stops, and its end is not recorded.
    private func sendHeartbeats() throws {
        guard !active.isEmpty, Date().timeIntervalSince(lastHeartbeat) >= rules.heartbeatInterval else { return }
        lastHeartbeat = Date()
        let owned = try store.heartbeat(active.map(\.trialID), worker: identity)
        for w in active where !owned.contains(w.trialID) && w.stopRequest == nil {
            w.stop(as: .pending, reason: "taken over by another worker after this one missed its heartbeats")
            log("trial \(w.trialID): another worker took it over (this one missed heartbeats); stopping this attempt")
        }
    }

    /// Starts a worker for a claimed `trial`; a worker that cannot start fails its trial, not the study.
    private func start(_ trial: TrialRecord) throws -> WorkerProcess? {
        let attemptDirectory = freshAttemptDirectory(for: trial)
        let arguments = configuration.trainArguments + Hyperparameter.trainArguments(for: trial.assignment)
        let worker: WorkerProcess
        do {
            worker = try WorkerProcess(trialID: trial.id, command: command, arguments: arguments, directory: attemptDirectory)
        } catch {
            try store.finish(trial.id, status: .failed, error: "\(error)", worker: identity)
            log("trial \(trial.id) failed to start: \(error)")
            return nil
        }
        try store.recordStart(trial.id, worker: identity, pid: worker.pid, outputDirectory: attemptDirectory.path, at: worker.startedAt)
        log("trial \(trial.id) started: \(describe(trial.assignment))")
        return worker
    }

    /// `trials/trial-0007/attempt-N` with N one past any attempt folder already there. Counting
    /// folders rather than the stored attempts matters when a process died between starting a worker
    /// and recording it: that orphan may still be writing into its folder, which must not be reused.
    private func freshAttemptDirectory(for trial: TrialRecord) -> URL {
        let trialDirectory = directory
            .appendingPathComponent("trials")
            .appendingPathComponent(String(format: "trial-%04d", trial.id))
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: trialDirectory.path)) ?? []
        let used = existing.compactMap { name in name.hasPrefix("attempt-") ? Int(name.dropFirst("attempt-".count)) : nil }
        // The claim has already counted this attempt in `trial.attempts`.
        let next = max(trial.attempts, (used.max() ?? 0) + 1)
        return trialDirectory.appendingPathComponent("attempt-\(next)")
    }

    /// Stores the worker's new epochs and applies the pruning rule to each, unless the worker has
    /// already finished: a trial that ran all its epochs keeps its result.
    private func follow(_ w: WorkerProcess, mayPrune: Bool) throws {
        let epochs = w.newEpochs()
        try store.recordEpochs(w.trialID, epochs)
        guard mayPrune, let pruner = rules.pruner?.pruner, w.stopRequest == nil else { return }
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
        // startedAt is taken once the spawn returns, so a worker that dies at once may end before it.
        let ended = max(w.endedAt ?? Date(), w.startedAt)
        let elapsed = formatNumber(ended.timeIntervalSince(w.startedAt))
        let (status, result, note) = outcome(of: w)
        let recorded: Bool
        if status == .pending {
            recorded = try store.requeue(w.trialID, note: note, worker: identity)
        } else {
            recorded = try store.finish(w.trialID, status: status, result: result, error: result == nil ? note : nil,
                                        at: ended, worker: identity)
        }
        guard recorded else {
            log("trial \(w.trialID): this attempt ended after \(elapsed) s, but another worker has the trial now; its end is not recorded")
            return
        }
        switch status {
        case .done: log("trial \(w.trialID) done after \(elapsed) s\(note): dev accuracy \(formatPercent(result?.devAccuracy ?? 0))")
        case .pending: log("trial \(w.trialID) stopped after \(elapsed) s: \(note)")
        default: log("trial \(w.trialID) \(status.rawValue) after \(elapsed) s: \(note)")
        }
    }

    /// How an exited worker's trial ends: its status, its result when done, and the reason (or, for a
    /// result that beat a stop, a remark).
    private func outcome(of w: WorkerProcess) -> (TrialStatus, TrialResult?, String) {
        // A worker that completed before a stop reached it ran all its epochs: its result stands, even
        // when the stop's signal caught it after it printed its last line.
        if w.stopRequest != nil, let result = try? WorkerOutput.result(fromStdout: w.stdoutText) {
            return (.done, result, " (it finished before the stop took effect)")
        }
        if let request = w.stopRequest { return (request.status, nil, request.reason) }
        guard w.exitedCleanly else {
            return (.failed, nil, "worker \(w.exitDescription): \(w.stderrTail()) (log: \(w.stderrPath))")
        }
        do {
            return (.done, try WorkerOutput.result(fromStdout: w.stdoutText), "")
        } catch {
            return (.failed, nil, "\(error) (log: \(w.stdoutPath))")
        }
    }

    private func describe(_ assignment: Assignment) -> String {
        configuration.space.names.compactMap { name in
            assignment[name].map { "\(name)=\(SearchBox.format($0))" }
        }.joined(separator: " ")
    }
}
