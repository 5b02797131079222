import Foundation

/// Where a study is stored, as `--storage` (or `NN_TUNE_STORAGE`) names it:
///
/// - nothing: SQLite, `<root>/<study>/study.sqlite` (one machine; the default);
/// - a file path or `sqlite:PATH`: SQLite, that file;
/// - `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (or `postgres://`): a PostgreSQL server that
///   every worker on every machine reaches; each study is a schema there.
public enum StudyStorage: Sendable, Equatable, CustomStringConvertible {
    /// A SQLite file (nil: `study.sqlite` in the study's folder).
    case sqlite(path: String?)
    /// A PostgreSQL server; the study is one schema there.
    case postgres(url: String)

    /// The environment variable read when `--storage` is not given.
    public static let environmentVariable = "NN_TUNE_STORAGE"

    /// Parses a `--storage` value; an unknown URL scheme is an error naming the two that work.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            throw TuneError.storageUnavailable(location: "''", detail: "empty; give a SQLite file path or postgresql://USER@HOST/DATABASE")
        }
        let lower = trimmed.lowercased()
        if lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://") {
            self = .postgres(url: trimmed)
        } else if lower.hasPrefix("sqlite:") {
            let path = String(trimmed.dropFirst("sqlite:".count))
            let file = path.hasPrefix("//") ? String(path.dropFirst(2)) : path
            guard !file.isEmpty else {
                throw TuneError.storageUnavailable(location: trimmed, detail: "no file named; write sqlite:PATH or just the path")
            }
            self = .sqlite(path: file)
        } else if let scheme = trimmed.range(of: "://").map({ String(trimmed[..<$0.lowerBound]) }) {
            throw TuneError.storageUnavailable(
                location: PostgresDatabase.masked(trimmed),
                detail: "unsupported scheme '\(scheme)'; use postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE or a SQLite file path")
        } else {
            self = .sqlite(path: trimmed)
        }
    }

    /// `--storage` if given, else `NN_TUNE_STORAGE`, else the default SQLite file.
    public static func resolve(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StudyStorage {
        if let option { return try StudyStorage(parsing: option) }
        if let value = environment[environmentVariable], !value.isEmpty { return try StudyStorage(parsing: value) }
        return .sqlite(path: nil)
    }

    /// Whether other machines can reach the store (PostgreSQL).
    public var isShared: Bool {
        if case .postgres = self { return true }
        return false
    }

    /// The SQLite file of `location`'s study under this storage, if it is SQLite.
    public func sqlitePath(for location: StudyLocation) -> String? {
        guard case let .sqlite(path) = self else { return nil }
        return path ?? location.database.path
    }

    /// True if the study exists in this storage (never creating anything).
    public func exists(_ location: StudyLocation) throws -> Bool {
        switch self {
        case .sqlite:
            return FileManager.default.fileExists(atPath: sqlitePath(for: location) ?? "")
        case let .postgres(url):
            do {
                _ = try PostgresDatabase(url: url, studyName: location.name, create: false)
                return true
            } catch TuneError.unknownStudy {
                return false
            }
        }
    }

    /// Opens `location`'s study: created if `create`, else it must exist. A missing study, an
    /// unreachable server or refused credentials are errors before anything is written.
    public func open(_ location: StudyLocation, create: Bool, readOnly: Bool = false) throws -> StudyStore {
        switch self {
        case let .sqlite(path):
            let path = path ?? location.database.path
            if !create, !FileManager.default.fileExists(atPath: path) {
                throw TuneError.unknownStudy(
                    name: location.name,
                    detail: "no such study (\(path) does not exist); create it with `nn tune run --study \(location.name)`")
            }
            return try StudyStore(path: path, readOnly: readOnly)
        case let .postgres(url):
            return try StudyStore(database: PostgresDatabase(url: url, studyName: location.name, create: create), readOnly: readOnly)
        }
    }

    /// The names of the studies a PostgreSQL store holds, sorted (a new connection, closed on return).
    /// A SQLite store is one study's file, so it has no such list: the studies of one machine are the
    /// `study.sqlite` files under a folder.
    public func studyNames() throws -> [String] {
        try PostgresDatabase(url: try serverURL()).studyNames()
    }

    /// Every study of a PostgreSQL store, by name, as a report without per-epoch records (see
    /// ``StudyReport/init(name:store:epochs:)``), or why that study could not be read: what a listing
    /// of studies shows. All are read over one connection, since a listing of many studies would
    /// otherwise connect and authenticate once per study.
    public func studyListing() throws -> [(name: String, report: Result<StudyReport, Error>)] {
        let database = try PostgresDatabase(url: try serverURL())
        return try database.studyNames().map { name in
            (name, Result {
                try database.selectStudy(name, create: false)
                return try StudyReport(name: name, store: try StudyStore(database: database, readOnly: true), epochs: false)
            })
        }
    }

    /// The PostgreSQL URL; a SQLite store has no list of studies to offer.
    private func serverURL() throws -> String {
        guard case let .postgres(url) = self else {
            throw TuneError.storageUnavailable(
                location: description, detail: "a SQLite store holds one study; its studies are the study.sqlite files under a folder")
        }
        return url
    }

    public var description: String {
        switch self {
        case let .sqlite(path): return path ?? "SQLite (<root>/<study>/study.sqlite)"
        case let .postgres(url): return PostgresDatabase.masked(url)
        }
    }
}
