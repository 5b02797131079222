import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The rules every worker of a study applies to the trials it runs, on whatever machine: stored with
/// the study by its coordinator, read by each `nn tune worker`.
public struct TrialRules: Sendable, Equatable, Codable {
    /// The pruning rule; nil runs every trial to the end.
    public var pruner: PrunerSetting?
    /// A trial still running after this many seconds fails.
    public var trialTimeout: Double?
    /// Seconds between a worker's heartbeats for its running trials.
    public var heartbeatInterval: Double
    /// A running trial whose worker sent no heartbeat for this many seconds is presumed dead: it runs
    /// again elsewhere (Optuna's `grace_period`).
    public var gracePeriod: Double
    /// Attempts a trial may have before a lost heartbeat fails it instead of re-queuing it
    /// (Optuna's `RetryFailedTrialCallback(max_retry)` plus the first attempt).
    public var maximumAttempts: Int

    /// Rules with the given pruner, timeout and heartbeat settings.
    public init(pruner: PrunerSetting? = nil, trialTimeout: Double? = nil, heartbeatInterval: Double = 5,
                gracePeriod: Double = 60, maximumAttempts: Int = 3) {
        self.pruner = pruner
        self.trialTimeout = trialTimeout
        self.heartbeatInterval = heartbeatInterval
        self.gracePeriod = gracePeriod
        self.maximumAttempts = maximumAttempts
    }

    /// Checks the timeout, heartbeat, grace period and attempts.
    public func validate() throws {
        if let t = trialTimeout, !(t > 0) {
            throw TuneError.invalidOption(name: "--trial-timeout", detail: "\(t) seconds must be > 0")
        }
        guard heartbeatInterval > 0, heartbeatInterval <= 3600 else {
            throw TuneError.invalidOption(name: "--heartbeat", detail: "\(heartbeatInterval) seconds must lie in (0, 3600]")
        }
        // Two missed heartbeats must not be enough: a worker busy for a moment is not dead.
        guard gracePeriod >= 2 * heartbeatInterval, gracePeriod.isFinite else {
            throw TuneError.invalidOption(
                name: "--grace", detail: "\(formatNumber(gracePeriod)) s must be at least twice --heartbeat (\(formatNumber(heartbeatInterval)) s)")
        }
        guard (1...100).contains(maximumAttempts) else {
            throw TuneError.invalidOption(name: "--max-attempts", detail: "\(maximumAttempts) must lie in 1…100")
        }
        if case let .asha(asha) = pruner { try asha.validate() }
    }
}

/// A pruning rule and its settings, as stored with a study.
public enum PrunerSetting: Sendable, Equatable, Codable {
    /// The median rule.
    case median(MedianPruner)
    /// Asynchronous successive halving.
    case asha(AshaPruner)

    /// The rule, ready to judge trials.
    public var pruner: any TrialPruner {
        switch self {
        case let .median(rule): return rule
        case let .asha(rule): return rule
        }
    }
}

/// Who runs a trial: `host:pid` of the `nn tune` process (coordinator or worker) that claimed it.
public enum WorkerIdentity {
    /// This process's identity.
    public static var current: String { "\(hostName):\(getpid())" }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// True when `owner` names a process of this host that no longer exists: its trials need not wait
    /// out the grace period. An owner on another host is judged by its heartbeats alone.
    public static func isDeadOnThisHost(_ owner: String?) -> Bool {
        guard let owner, let colon = owner.lastIndex(of: ":"), let pid = pid_t(owner[owner.index(after: colon)...]) else {
            return owner == nil  // a running trial with no owner was left by a version-1 tuner
        }
        guard owner[..<colon] == hostName[...] else { return false }
        if pid == getpid() { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
