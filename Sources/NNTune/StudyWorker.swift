import Foundation

/// `nn tune worker`: runs trials of an existing study, on any machine that reaches its store, until the
/// study is complete. Any number of workers (and the coordinator) claim trials from the same store; a
/// worker that dies loses at most its running trials, which run again elsewhere once its heartbeat
/// has been silent for the study's grace period.
public final class StudyWorker {
    /// The study's database.
    public let store: StudyStore
    /// The study's name.
    public let name: String
    private let executor: TrialExecutor
    private let rules: TrialRules
    private let pollInterval: TimeInterval
    private let stopRequest: StopRequest?
    private let log: (String) -> Void
    private var lastHousekeeping = Date.distantPast
    private var idleSlotsReported = 0
    private var lastIdleReport = Date.distantPast

    /// - Parameters:
    ///   - store: the study's database, shared with the coordinator and other workers.
    ///   - name: the study's name.
    ///   - directory: this machine's folder for the study; trial folders go under `trials/`.
    ///   - command: how to start a trial (the `nn` executable and the fixed train arguments).
    ///   - parallel: trials run at once on this machine.
    ///   - pollInterval: seconds between looks for pending trials.
    ///   - stopRequest: set by a signal handler to stop cleanly.
    ///   - log: receives one line per event.
    public init(store: StudyStore, name: String, directory: URL, command: WorkerCommand, parallel: Int,
                pollInterval: TimeInterval = 0.2, stopRequest: StopRequest? = nil, log: @escaping (String) -> Void) throws {
        guard let configuration = try store.configuration() else {
            throw TuneError.invalidStudy(name: name, detail: "it has no configuration yet; start it with `nn tune run --study \(name)` first")
        }
        let options = ExecutionOptions(parallel: parallel, pollInterval: pollInterval, stopRequest: stopRequest,
                                       rules: try store.execution() ?? TrialRules())
        try options.validate()
        self.store = store
        self.name = name
        self.rules = options.rules
        self.pollInterval = pollInterval
        self.stopRequest = stopRequest
        self.log = log
        executor = TrialExecutor(store: store, configuration: configuration, directory: directory, command: command,
                                 parallel: parallel, rules: options.rules, log: log)
        if let stopRequest { store.stopReconnecting { stopRequest.signal != nil } }
        try TrialRecovery(store: store, trialsDirectory: directory.appendingPathComponent("trials"), worker: command, log: log).run()
    }

    /// How a worker's run ended.
    public enum Ending: Equatable, Sendable {
        /// The coordinator marked the study complete.
        case studyComplete
        /// Nothing was pending and the coordinator had been silent for longer than the grace period.
        case coordinatorGone(seconds: Double, owner: String?)
    }

    /// Runs trials until the study is complete (or its coordinator is gone and nothing is left to
    /// claim); throws ``TuneError/interrupted(signal:)`` after a SIGINT/SIGTERM stopped its trials.
    public func run() throws -> Ending {
        defer { try? store.markIdle(worker: executor.identity, slots: 0) }
        while true {
            if let stopSignal = stopRequest?.signal {
                executor.stopAll(signal: stopSignal, urgent: stopRequest?.isUrgent == true)
                if executor.active.isEmpty { throw TuneError.interrupted(signal: stopSignal) }
            } else {
                try executor.startTrials()
                try reportIdleSlots()
                if executor.active.isEmpty, try store.pendingCount() == 0, let ending = try ending() { return ending }
            }
            try housekeeping()
            executor.waitForOutput(upTo: pollInterval)
            try executor.poll()
        }
    }

    /// With nothing running here and nothing pending: why to stop, or nil to wait for more trials.
    private func ending() throws -> Ending? {
        if try store.isComplete() { return .studyComplete }
        guard let (seconds, owner) = try store.coordinatorSilence() else { return nil }
        return seconds > rules.gracePeriod ? .coordinatorGone(seconds: seconds, owner: owner) : nil
    }

    /// Tells the coordinator how many trials this worker could start now (for TPE's late draws): when
    /// that changes, and again every second while it waits, so the coordinator sees it is still idle.
    private func reportIdleSlots() throws {
        let free = executor.freeSlots
        guard free != idleSlotsReported || (free > 0 && Date().timeIntervalSince(lastIdleReport) >= 1) else { return }
        try store.markIdle(worker: executor.identity, slots: free)
        idleSlotsReported = free
        lastIdleReport = Date()
    }

    /// Every heartbeat interval: re-queues (or fails) trials whose worker went silent, whoever ran them,
    /// so a study goes on even while its coordinator is away.
    private func housekeeping() throws {
        guard Date().timeIntervalSince(lastHousekeeping) >= rules.heartbeatInterval else { return }
        lastHousekeeping = Date()
        try executor.reclaimSilentTrials()
    }
}
