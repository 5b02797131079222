import Foundation

/// One connection to the database a study lives in: SQLite (a file per study, the embedded default
/// for one machine) or PostgreSQL (a server every worker on every machine talks to).
///
/// ``StudyStore`` is written once against this protocol, as Optuna's RDBStorage is written once over
/// SQLAlchemy: the SQL it sends is the common subset both engines run (`?` parameters, `RETURNING`,
/// `ON CONFLICT`, `DOUBLE PRECISION`), and the few places where they differ are the ``SQLDialect``.
protocol StudyDatabase: AnyObject {
    /// Where the study lives, for messages: a file path, or a URL with its password masked.
    var location: String { get }
    var dialect: SQLDialect { get }
    /// Runs SQL that returns no rows (several statements allowed when nothing is bound).
    func execute(_ sql: String) throws
    /// Runs one statement with `values` bound to its `?` parameters, returning every row.
    @discardableResult
    func query(_ sql: String, _ values: [SQLValue]) throws -> [[SQLValue]]
}

extension StudyDatabase {
    @discardableResult
    func query(_ sql: String) throws -> [[SQLValue]] { try query(sql, []) }

    /// Runs `body` between the dialect's `begin` and COMMIT, rolling back if `body` throws. A
    /// transaction whose connection was lost and made again (``LostTransaction``) runs once more: the
    /// server rolled it back. If the connection died after the server committed but before its reply
    /// arrived, the second run repeats the change; the store's transactions tolerate that (a second
    /// claim leaves a trial without heartbeats, which goes back to pending after the grace period).
    @discardableResult
    func transaction<T>(_ body: () throws -> T) throws -> T {
        var lostBefore = false
        while true {
            try execute(dialect.begin)
            do {
                let result = try body()
                try execute("COMMIT")
                return result
            } catch is LostTransaction where !lostBefore {
                lostBefore = true
            } catch {
                try? execute("ROLLBACK")
                throw error
            }
        }
    }
}

/// Where SQLite and PostgreSQL SQL differ, for the statements a study needs.
struct SQLDialect: Sendable {
    /// The current time in seconds since 1970, read by the database: on PostgreSQL the server's clock,
    /// so heartbeats written by workers on different machines compare on one clock.
    let now: String
    /// Appended to the `SELECT` that picks the next pending trial. PostgreSQL locks the row it picks
    /// and skips rows other workers have locked, so concurrent claims never take the same trial and
    /// never wait on each other; SQLite needs nothing, as it runs one write transaction at a time.
    let claimLock: String
    /// Appended to a `SELECT` whose rows the transaction goes on to change, waiting for other holders.
    let rowLock: String
    /// Starts a transaction. SQLite's IMMEDIATE takes the write lock up front, so a concurrent writer
    /// waits on busy_timeout rather than failing mid-transaction.
    let begin: String

    static let sqlite = SQLDialect(now: "((julianday('now') - 2440587.5) * 86400.0)", claimLock: "", rowLock: "",
                                   begin: "BEGIN IMMEDIATE")
    static let postgres = SQLDialect(now: "EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION",
                                     claimLock: " FOR UPDATE SKIP LOCKED", rowLock: " FOR UPDATE", begin: "BEGIN")
}

/// A value bound to or read from a study database.
enum SQLValue: Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    var int: Int? {
        switch self {
        case let .integer(v): return Int(v)
        case let .real(v): return Int(exactly: v)  // nil, not a trap, for a hand-edited 1e300 or NaN
        default: return nil
        }
    }

    var double: Double? {
        switch self {
        case let .integer(v): return Double(v)
        case let .real(v): return v
        default: return nil
        }
    }

    var string: String? {
        if case let .text(v) = self { return v }
        return nil
    }

    init(_ v: Int?) { self = v.map { .integer(Int64($0)) } ?? .null }
    init(_ v: Double?) { self = v.map { .real($0) } ?? .null }
    init(_ v: String?) { self = v.map { .text($0) } ?? .null }
}
