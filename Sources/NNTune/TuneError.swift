/// Errors of the tuner. Each names what was wrong (the search-space entry, the study, the trial)
/// and, where one exists, the fix.
public enum TuneError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A search-space entry that cannot be used: unknown distribution or hyperparameter, bad bounds.
    case invalidSpace(entry: String, detail: String)
    /// A search-space file that is not a JSON object of entries.
    case malformedSpaceFile(path: String, detail: String)
    /// A study that cannot be created or resumed as asked.
    case invalidStudy(name: String, detail: String)
    /// A tuning option out of range (a trial count of 0, a keep fraction above 1).
    case invalidOption(name: String, detail: String)
    /// The SQLite study database refused an operation.
    case storage(detail: String)
    /// A worker process that could not be started at all.
    case workerLaunch(executable: String, detail: String)

    public var description: String {
        switch self {
        case let .invalidSpace(entry, detail):
            return "search space entry '\(entry)': \(detail)"
        case let .malformedSpaceFile(path, detail):
            return "search space file \(path): \(detail)"
        case let .invalidStudy(name, detail):
            return "study '\(name)': \(detail)"
        case let .invalidOption(name, detail):
            return "option \(name): \(detail)"
        case let .storage(detail):
            return "study database: \(detail)"
        case let .workerLaunch(executable, detail):
            return "cannot start worker \(executable): \(detail)"
        }
    }
}
