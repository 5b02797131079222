/// Errors of the tuner. Each names what was wrong (the search-space entry, the study, the trial)
/// and, where one exists, the fix.
public enum TuneError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A search-space entry that cannot be used: unknown distribution or hyperparameter, bad bounds.
    case invalidSpace(entry: String, detail: String)
    /// A search-space file's entry that cannot be used (``invalidSpace(entry:detail:)``, with the file named).
    case invalidSpaceInFile(path: String, entry: String, detail: String)
    /// A search-space file that is not a JSON object of entries.
    case malformedSpaceFile(path: String, detail: String)
    /// A study that does not exist in the storage named (a `nn tune worker` or report of a typo).
    case unknownStudy(name: String, detail: String)
    /// A study that cannot be created or resumed as asked.
    case invalidStudy(name: String, detail: String)
    /// A study another tuner is running right now (`pid` from its lock file, when it could be read).
    case studyInUse(name: String, pid: Int?, lockPath: String)
    /// A study stopped by SIGINT or SIGTERM: running trials were stopped and go back to pending.
    case interrupted(signal: Int32)
    /// A tuning option out of range (a trial count of 0, a keep fraction above 1).
    case invalidOption(name: String, detail: String)
    /// The study database refused an operation.
    case storage(detail: String)
    /// A study store that cannot be used at all: a URL that does not parse, a server that cannot be
    /// reached, credentials it refuses (`location` has any password masked).
    case storageUnavailable(location: String, detail: String)
    /// A worker process that could not be started at all.
    case workerLaunch(executable: String, detail: String)
    /// A worker that exited cleanly without printing a result the tuner can read.
    case unreadableWorkerOutput(detail: String)

    public var description: String {
        switch self {
        case let .invalidSpace(entry, detail):
            return "search space entry '\(entry)': \(detail)"
        case let .invalidSpaceInFile(path, entry, detail):
            return "search space file \(path), entry '\(entry)': \(detail)"
        case let .studyInUse(name, pid, lockPath):
            let holder = pid.map { "pid \($0)" } ?? "pid unknown"
            let stop = pid.map { " or stop it (kill \($0))" } ?? ""
            return "study '\(name)' is in use by another `nn tune run` (\(holder), lock \(lockPath)); "
                + "wait for it to finish\(stop), then run this command again"
        case let .interrupted(signal):
            return "study stopped by \(signalName(signal)); its running trials were stopped and will run again on resume"
        case let .malformedSpaceFile(path, detail):
            return "search space file \(path): \(detail)"
        case let .unknownStudy(name, detail):
            return "study '\(name)': \(detail)"
        case let .invalidStudy(name, detail):
            return "study '\(name)': \(detail)"
        case let .invalidOption(name, detail):
            return "option \(name): \(detail)"
        case let .storage(detail):
            return "study database: \(detail)"
        case let .storageUnavailable(location, detail):
            return "study storage \(location): \(detail)"
        case let .workerLaunch(executable, detail):
            return "cannot start worker \(executable): \(detail)"
        case let .unreadableWorkerOutput(detail):
            return "worker output: \(detail)"
        }
    }
}

/// SIGINT, SIGTERM, or "signal N".
func signalName(_ signal: Int32) -> String {
    switch signal {
    case 2: return "SIGINT"
    case 15: return "SIGTERM"
    default: return "signal \(signal)"
    }
}

extension TuneError {
    /// True for errors in what the user named (a storage URL, a study) or asked for (an option out of
    /// range), which `nn` reports as usage errors (exit status 2), as it does a flag it cannot parse.
    public var isUsageError: Bool {
        switch self {
        case .storageUnavailable, .unknownStudy, .invalidOption: return true
        default: return false
        }
    }
}
