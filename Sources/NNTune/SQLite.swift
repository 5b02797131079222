import CSQLite
import Foundation

/// A thin, throwing wrapper over one SQLite connection: prepared statements with bound
/// parameters (never string-built SQL), and transactions that roll back on error.
final class SQLiteDatabase: StudyDatabase {
    private var handle: OpaquePointer?
    let path: String

    /// SQLite copies bound text and blobs when given this destructor (the C macro SQLITE_TRANSIENT).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Opens (creating if needed) the database in WAL mode: readers (`nn tune report` while a study
    /// runs) never block the writer, and a killed writer leaves the last committed state intact.
    /// `busy_timeout` makes a second connection wait for a lock instead of failing at once.
    init(path: String, readOnly: Bool = false) throws {
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_FULLMUTEX, nil)
        guard rc == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "error \(rc)"
            sqlite3_close(handle)
            handle = nil
            throw TuneError.storage(detail: "cannot open \(path): \(message)")
        }
        sqlite3_busy_timeout(handle, 10_000)
        if !readOnly {
            try execute("PRAGMA journal_mode = WAL")
            // FULL syncs the WAL at every commit: a finished trial survives even a power cut.
            try execute("PRAGMA synchronous = FULL")
        }
        try execute("PRAGMA foreign_keys = ON")
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    private var lastError: String {
        handle.map { String(cString: sqlite3_errmsg($0)) } ?? "no connection"
    }

    /// Runs SQL that returns no rows (several statements allowed when nothing is bound).
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? lastError
            sqlite3_free(message)
            throw TuneError.storage(detail: "\(text) (in \(sql.prefix(80)))")
        }
    }

    var location: String { path }
    let dialect = SQLDialect.sqlite

    /// Runs one statement with `values` bound to its `?` parameters, returning every row.
    @discardableResult
    func query(_ sql: String, _ values: [SQLValue] = []) throws -> [[SQLValue]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
            throw TuneError.storage(detail: "\(lastError) (in \(sql.prefix(80)))")
        }
        defer { sqlite3_finalize(statement) }
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case let .integer(v): rc = sqlite3_bind_int64(statement, index, v)
            case let .real(v): rc = sqlite3_bind_double(statement, index, v)
            case let .text(v): rc = sqlite3_bind_text(statement, index, v, -1, Self.transient)
            }
            guard rc == SQLITE_OK else { throw TuneError.storage(detail: "binding parameter \(index): \(lastError)") }
        }
        var rows: [[SQLValue]] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                throw TuneError.storage(detail: "\(lastError) (in \(sql.prefix(80)))")
            }
            let columns = sqlite3_column_count(statement)
            rows.append((0..<columns).map { column(statement, $0) })
        }
        return rows
    }

    private func column(_ statement: OpaquePointer?, _ i: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, i))
        case SQLITE_TEXT: return .text(sqlite3_column_text(statement, i).map { String(cString: $0) } ?? "")
        default: return .null
        }
    }
}
