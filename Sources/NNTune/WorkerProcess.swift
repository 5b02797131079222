import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How trials are run: `executable` with `leadingArguments` (e.g. `nn train`), then the study's
/// fixed train arguments, the trial's hyperparameters, `--out DIR --json`.
public struct WorkerCommand: Sendable, Equatable {
    /// The `nn` executable.
    public var executable: String
    /// Arguments before the trial's own (`train`).
    public var leadingArguments: [String]
    /// The per-epoch metrics file (JSON lines) the worker writes inside its `--out` folder.
    public var metricsFileName: String

    /// How to start a trial process.
    public init(executable: String, leadingArguments: [String] = ["train"], metricsFileName: String = "metrics.jsonl") {
        self.executable = executable
        self.leadingArguments = leadingArguments
        self.metricsFileName = metricsFileName
    }
}

/// The environment variables a tuner sets for its workers.
public enum WorkerEnvironment {
    /// The trial id.
    public static let trial = "NN_TUNE_TRIAL"
    /// The tuner's PID: a worker checks that it is still its parent right after asking the kernel
    /// to kill it when its parent dies, which closes the race of a tuner that died first.
    public static let tunerPID = "NN_TUNE_PARENT_PID"
}

/// One running worker process and the files it writes.
///
/// Each attempt of a trial gets its own folder (`trial-0007/attempt-2/`), so an orphaned worker
/// of a killed tuner can never write into the files of the attempt that replaced it.
///
/// Workers die with their tuner: `nn train` reads ``WorkerEnvironment`` and asks the kernel for
/// SIGKILL when its parent goes (`PR_SET_PDEATHSIG`, see Sources/nn/ParentWatch.swift). The kernel
/// sends it when the *thread* that spawned the worker exits, not the process; `Process.run()`
/// spawns on the calling thread, and ``StudyRunner`` starts every worker from the thread that
/// runs the study (the main thread under `nn tune`), which lives as long as the tuner.
final class WorkerProcess {
    let trialID: Int
    let directory: URL
    let startedAt: Date
    private let process: Process
    private let follower: MetricsFollower
    /// Set when the tuner stops the worker on purpose: pruned, failed (timeout), or pending (the
    /// study itself was stopped, so the trial runs again on resume); the status and reason to record.
    private(set) var stopRequest: (status: TrialStatus, reason: String)?
    private var killDeadline: Date?
    private let exit = ExitTime()

    /// Seconds between SIGTERM and SIGKILL for a worker being stopped.
    static let terminationGrace: TimeInterval = 5

    var pid: Int { Int(process.processIdentifier) }
    var isRunning: Bool { process.isRunning }
    /// When the worker ended, as Foundation saw it on its own thread (nil while it runs, or if that
    /// thread has not said yet): the trial's end, so its recorded seconds are the worker's lifetime,
    /// not that plus the wait until the tuner's next poll noticed.
    var endedAt: Date? { exit.date }
    var stdoutPath: String { directory.appendingPathComponent("stdout.log").path }
    /// What the worker printed (its `--json` result line last), or "" when nothing could be read.
    var stdoutText: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderrPath: String { directory.appendingPathComponent("stderr.log").path }
    var outputDirectory: URL { Self.trainOutput(in: directory) }

    /// The `nn train --out` folder of the worker running in `attemptDirectory`.
    static func trainOutput(in attemptDirectory: URL) -> URL { attemptDirectory.appendingPathComponent("out") }

    init(trialID: Int, command: WorkerCommand, arguments: [String], directory: URL) throws {
        self.trialID = trialID
        self.directory = directory
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: Self.trainOutput(in: directory), withIntermediateDirectories: true)
        } catch {
            throw TuneError.workerLaunch(executable: command.executable, detail: "cannot create \(directory.path): \(error.localizedDescription)")
        }
        let stdoutURL = directory.appendingPathComponent("stdout.log")
        let stderrURL = directory.appendingPathComponent("stderr.log")
        _ = fm.createFile(atPath: stdoutURL.path, contents: nil)
        _ = fm.createFile(atPath: stderrURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.leadingArguments + arguments
            + ["--out", Self.trainOutput(in: directory).path, "--json"]
        var environment = ProcessInfo.processInfo.environment
        environment[WorkerEnvironment.trial] = String(trialID)
        environment[WorkerEnvironment.tunerPID] = String(getpid())
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: fm.currentDirectoryPath)
        do {
            process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
            process.standardError = try FileHandle(forWritingTo: stderrURL)
            process.standardInput = FileHandle.nullDevice
            process.terminationHandler = { [exit] _ in exit.record(Date()) }
            try process.run()
        } catch {
            throw TuneError.workerLaunch(executable: command.executable, detail: error.localizedDescription)
        }
        self.process = process
        self.startedAt = Date()
        self.follower = MetricsFollower(path: Self.trainOutput(in: directory).appendingPathComponent(command.metricsFileName).path)
    }

    /// The full command line, for logs.
    var commandLine: String {
        ([process.executableURL?.path ?? "?"] + (process.arguments ?? [])).joined(separator: " ")
    }

    /// Epochs completed since the last call.
    func newEpochs() -> [EpochRecord] {
        follower.poll()
    }

    /// Asks the worker to stop (SIGTERM), escalating to SIGKILL after ``terminationGrace``.
    func stop(as status: TrialStatus, reason: String) {
        guard stopRequest == nil else { return }
        stopRequest = (status, reason)
        killDeadline = Date().addingTimeInterval(Self.terminationGrace)
        if process.isRunning { process.terminate() }
    }

    /// Sends SIGKILL to a stopping worker whose grace period has run out.
    func enforceStop() {
        if let deadline = killDeadline, Date() >= deadline, process.isRunning {
            signalGroup(SIGKILL)
        }
    }

    /// Signals the worker and whatever it started: the SIGKILL that ends a grace period. Foundation
    /// starts each worker as the leader of its own process group, and `isRunning` stays true until
    /// every process holding the worker's inherited descriptors has ended, so a grandchild that
    /// survived (a wrapper script's command) would otherwise keep a stopped trial "running".
    private func signalGroup(_ number: Int32) {
        let pid = process.processIdentifier
        if getpgid(pid) == pid { kill(-pid, number) } else { kill(pid, number) }
    }

    /// Ends the grace period of a stopping worker now (a second Ctrl-C).
    func hurryStop() {
        guard stopRequest != nil else { return }
        killDeadline = Date()
        enforceStop()
    }

    /// How the process ended, in words, for a failed trial's error.
    var exitDescription: String {
        switch process.terminationReason {
        case .exit: return "exit status \(process.terminationStatus)"
        case .uncaughtSignal: return "killed by signal \(process.terminationStatus)"
        @unknown default: return "ended (status \(process.terminationStatus))"
        }
    }

    var exitedCleanly: Bool {
        process.terminationReason == .exit && process.terminationStatus == 0
    }

    /// The last few lines of stderr (at most 600 characters): usually the error message.
    func stderrTail() -> String {
        let text = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        let lines = text.split(whereSeparator: \.isNewline).suffix(4).joined(separator: " | ")
        return String(lines.suffix(600))
    }

    /// Every process, other than this one, whose arguments name a path under `directory`: the
    /// workers of a study's trials, whatever tuner started them and whether or not it recorded them.
    static func processes(writingUnder directory: String) -> [pid_t] {
        let own = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { $0 != own && runs($0, writingUnder: directory) }
    }

    /// True while `pid` runs a command with an argument under `directory`. A zombie has an empty
    /// command line, so a killed orphan that nobody reaped counts as gone.
    static func runs(_ pid: pid_t, writingUnder directory: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self).hasPrefix(directory) }
    }

    /// SIGKILLs `pids` and waits (up to `timeout`) until none runs a command under `directory`:
    /// only then may another attempt of their trials start.
    static func killAndWait(_ pids: [pid_t], writingUnder directory: String, timeout: TimeInterval = 10) -> [pid_t] {
        for pid in pids { kill(pid, SIGKILL) }
        let deadline = Date().addingTimeInterval(timeout)
        var alive = pids
        while !alive.isEmpty, Date() < deadline {
            alive = alive.filter { runs($0, writingUnder: directory) }
            if !alive.isEmpty { Thread.sleep(forTimeInterval: 0.02) }
        }
        return alive
    }
}

/// The moment a worker ended, written by Foundation's termination handler and read by the tuner.
private final class ExitTime: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: Date?

    func record(_ date: Date) { lock.withLock { recorded = date } }
    var date: Date? { lock.withLock { recorded } }
}
