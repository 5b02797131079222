import CPostgreSQL
import Foundation

/// One libpq connection to a PostgreSQL server, working inside one study's schema.
///
/// A PostgreSQL database holds many studies, one schema each (`nn_study_<name>`), holding the same
/// tables a SQLite study file holds; so the store's SQL is the same on both, and a study can be
/// copied between them table by table. Statements are sent with `PQexecParams`, the values bound as
/// text (never spliced into the SQL).
///
/// A connection that is lost (a server restart, a network drop, an idle connection cut by a
/// firewall) is made again, retried for up to ``reconnectWindow`` seconds, with the session's
/// settings and advisory locks restored; the statement is then sent again, or, inside a transaction
/// (which the server rolled back with the old connection), ``StudyDatabase/transaction(_:)`` runs the
/// whole transaction again. So a worker's running trials survive a server restart instead of dying
/// with their worker.
final class PostgresDatabase: StudyDatabase {
    private var connection: OpaquePointer?
    let location: String
    let dialect = SQLDialect.postgres
    /// Seconds a lost connection is retried before the statement fails: enough for a server restart.
    var reconnectWindow: TimeInterval = 30
    /// Asked between reconnection attempts: true ends the wait at once (a study asked to stop by
    /// SIGINT/SIGTERM should not sit out the window).
    var stopsWaiting: () -> Bool = { false }
    /// The schema of the study selected (a quoted identifier), set again on a new connection.
    private var schema: String?
    /// Advisory locks this session holds (the coordinator's), taken again on a new connection.
    private var advisoryLocks: [String] = []
    /// Between BEGIN and COMMIT/ROLLBACK: a statement there cannot be sent again on its own.
    private var inTransaction = false

    /// Seconds libpq waits for a server that does not answer, unless the URL sets `connect_timeout`:
    /// an unreachable host is an error within seconds, not a hang.
    static let connectTimeout = 5

    /// PostgreSQL's identifiers hold at most 63 bytes; with the `nn_study_` prefix that leaves this many for a name.
    static let maximumStudyNameLength = 54

    /// Connects to `url` (`postgresql://user:password@host:port/database`) and selects the schema of
    /// study `studyName`, creating it when `create` is set.
    ///
    /// Throws ``TuneError/storageUnavailable(location:detail:)`` for a URL that does not parse, a
    /// server that cannot be reached, refused credentials, and ``TuneError/unknownStudy(name:detail:)``
    /// for a study that does not exist (with `create` false).
    convenience init(url: String, studyName: String, create: Bool) throws {
        guard studyName.utf8.count <= Self.maximumStudyNameLength else {
            throw TuneError.invalidStudy(
                name: studyName,
                detail: "a study stored in PostgreSQL may have at most \(Self.maximumStudyNameLength) characters (a schema name's limit); choose a shorter --study")
        }
        try self.init(url: url)
        try selectStudy(studyName, create: create)
    }

    /// Works inside study `studyName`'s schema from now on (created if `create`, else it must exist).
    ///
    /// A study exists once its `meta` table does, not its schema: the creator makes the schema, then
    /// the tables and the schema version in one transaction (``StudyStore``), so a schema without
    /// them is a study still being created, which a worker must neither open nor finish creating.
    func selectStudy(_ studyName: String, create: Bool) throws {
        let schema = "\"nn_study_\(studyName)\""
        let exists = try !query("SELECT 1 FROM pg_tables WHERE schemaname = ? AND tablename = 'meta'", [.text("nn_study_\(studyName)")]).isEmpty
        if !exists {
            guard create else {
                let others = (try? studyNames()) ?? []
                let known = others.isEmpty ? "it holds no study" : "it holds \(others.joined(separator: ", "))"
                throw TuneError.unknownStudy(
                    name: studyName,
                    detail: "no such study in \(location) (\(known)); create it with `nn tune run --study \(studyName) --storage URL`")
            }
            try execute("CREATE SCHEMA IF NOT EXISTS \(schema)")
        }
        try execute("SET search_path TO \(schema)")
        self.schema = schema
    }

    /// Connects to `url` without selecting a study: enough to list the studies it holds.
    init(url: String) throws {
        location = Self.masked(url)
        var parseError: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &parseError) else {
            // libpq quotes the URL it could not parse, password and all.
            let detail = (parseError.map { String(cString: $0) } ?? "it does not parse").replacingOccurrences(of: url, with: location)
            PQfreemem(parseError)
            throw TuneError.storageUnavailable(location: location, detail: "not a PostgreSQL URL: \(Self.oneLine(detail)); write postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        PQconninfoFree(options)
        // The URL comes last, so its own connect_timeout or application_name wins over these defaults.
        let keywords = ["connect_timeout", "application_name", "dbname"]
        let values = [String(Self.connectTimeout), "nn tune", url]
        connection = Self.withCStrings(keywords) { k in Self.withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard PQstatus(connection) == CONNECTION_OK else {
            let detail = Self.oneLine(lastError)
            PQfinish(connection)
            connection = nil
            throw TuneError.storageUnavailable(location: location, detail: Self.advice(for: detail))
        }
        try execute(Self.messageLevel)
    }

    /// Notices (such as "schema already exists") stay off stderr.
    private static let messageLevel = "SET client_min_messages TO warning"

    deinit {
        PQfinish(connection)
    }

    /// The names of the studies stored in this database (schemas with their tables, see ``selectStudy(_:create:)``).
    func studyNames() throws -> [String] {
        try query("SELECT schemaname FROM pg_tables WHERE schemaname LIKE 'nn\\_study\\_%' AND tablename = 'meta' ORDER BY 1", [])
            .compactMap { $0.first?.string.map { String($0.dropFirst("nn_study_".count)) } }
    }

    private var lastError: String {
        connection.map { String(cString: PQerrorMessage($0)) } ?? "no connection"
    }

    func execute(_ sql: String) throws {
        let result = try send { PQexec(connection, sql) }
        defer { PQclear(result) }
        try check(result, sql)
        if sql == dialect.begin {
            inTransaction = true
        } else if sql == "COMMIT" || sql == "ROLLBACK" {
            inTransaction = false
        }
    }

    /// Takes the session advisory lock `key` without waiting; true if this session holds it now. It is
    /// taken again after a reconnection, which fails if another session took it meanwhile.
    func tryAdvisoryLock(_ key: String) throws -> Bool {
        let granted = try takeAdvisoryLock(key)
        if granted { advisoryLocks.append(key) }
        return granted
    }

    private func takeAdvisoryLock(_ key: String) throws -> Bool {
        try query("SELECT pg_try_advisory_lock(hashtext(?))", [.text(key)]).first?.first == .text("t")
    }

    /// `perform` (one statement on the connection), reconnecting first when the connection turns out to
    /// be lost. Outside a transaction the statement is then sent again; inside one the transaction is
    /// gone, which ``LostTransaction`` tells ``StudyDatabase/transaction(_:)``.
    private func send(_ perform: () -> OpaquePointer?) throws -> OpaquePointer? {
        let result = perform()
        guard PQstatus(connection) == CONNECTION_BAD else { return result }
        let lost = Self.oneLine(result.map { String(cString: PQresultErrorMessage($0)) } ?? lastError)
        PQclear(result)
        let wasInTransaction = inTransaction
        inTransaction = false
        try reconnect(after: lost)
        if wasInTransaction { throw LostTransaction(location: location, detail: lost) }
        return perform()
    }

    /// Makes the connection again with its settings and locks, retrying with growing pauses for up to
    /// ``reconnectWindow`` seconds.
    private func reconnect(after lost: String) throws {
        let deadline = Date().addingTimeInterval(reconnectWindow)
        var pause = 0.25
        while true {
            PQreset(connection)
            if PQstatus(connection) == CONNECTION_OK {
                try execute(Self.messageLevel)
                if let schema { try execute("SET search_path TO \(schema)") }
                for key in advisoryLocks {
                    guard try takeAdvisoryLock(key) else {
                        throw TuneError.storage(
                            detail: "the connection to \(location) was lost (\(lost)) and, meanwhile, another process took the lock \(key) this one held; stop one of the two")
                    }
                }
                return
            }
            if stopsWaiting() {
                throw TuneError.storage(
                    detail: "lost the connection to \(location) (\(lost)) and stopped waiting for it, as asked; "
                        + "run the command again once the server is back (finished trials are kept)")
            }
            guard Date().addingTimeInterval(pause) < deadline else {
                throw TuneError.storage(
                    detail: "lost the connection to \(location) (\(lost)) and could not connect again within \(Int(reconnectWindow)) s: "
                        + Self.advice(for: Self.oneLine(lastError)) + "; once it is back, run the command again (finished trials are kept)")
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 4)
        }
    }

    @discardableResult
    func query(_ sql: String, _ values: [SQLValue]) throws -> [[SQLValue]] {
        let texts: [String?] = values.map { value in
            switch value {
            case .null: return nil
            case let .integer(v): return String(v)
            case let .real(v): return v.isNaN ? "NaN" : v.isInfinite ? (v < 0 ? "-Infinity" : "Infinity") : "\(v)"
            case let .text(v): return v
            }
        }
        let statement = Self.numberingParameters(sql)
        let result = try send {
            Self.withOptionalCStrings(texts) { pointers in
                PQexecParams(connection, statement, Int32(texts.count), nil, pointers, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        try check(result, sql)
        let rows = Int(PQntuples(result)), columns = Int(PQnfields(result))
        return (0..<rows).map { row in
            (0..<columns).map { column in Self.value(result, Int32(row), Int32(column)) }
        }
    }

    private func check(_ result: OpaquePointer?, _ sql: String) throws {
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let message = result.map { String(cString: PQresultErrorMessage($0)) } ?? lastError
            throw TuneError.storage(detail: "\(Self.oneLine(message.isEmpty ? lastError : message)) (in \(sql.prefix(80)); \(location))")
        }
    }

    /// A column's text turned into the value its type says (bigint, integer, double, numeric, text).
    private static func value(_ result: OpaquePointer?, _ row: Int32, _ column: Int32) -> SQLValue {
        if PQgetisnull(result, row, column) == 1 { return .null }
        let text = String(cString: PQgetvalue(result, row, column))
        switch PQftype(result, column) {
        case 20, 21, 23: return Int64(text).map(SQLValue.integer) ?? .text(text)  // int8, int2, int4
        case 700, 701, 1700: return Double(text).map(SQLValue.real) ?? .text(text)  // float4, float8, numeric
        default: return .text(text)
        }
    }

    /// `?` placeholders as PostgreSQL's `$1, $2, …`, outside quoted strings and identifiers.
    static func numberingParameters(_ sql: String) -> String {
        var output = ""
        var number = 0
        var quote: Character?
        for character in sql {
            if let q = quote {
                if character == q { quote = nil }
                output.append(character)
            } else if character == "'" || character == "\"" {
                quote = character
                output.append(character)
            } else if character == "?" {
                number += 1
                output += "$\(number)"
            } else {
                output.append(character)
            }
        }
        return output
    }

    /// The URL with any password replaced by `***`, for messages and logs.
    static func masked(_ url: String) -> String {
        if var components = URLComponents(string: url) {
            guard components.password != nil else { return url }
            components.password = "***"
            if let masked = components.string { return masked }
        }
        // A URL Foundation cannot parse may still carry `user:password@`; mask whatever stands there.
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@"),
              let colon = url[scheme.upperBound..<at].firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }

    /// libpq's message with a hint at the usual fix.
    private static func advice(for detail: String) -> String {
        let lower = detail.lowercased()
        if lower.contains("password authentication failed") || lower.contains("no password supplied") {
            return "\(detail); check the user and password in the URL"
        }
        if lower.contains("connection refused") || lower.contains("timeout expired") || lower.contains("could not translate host name")
            || lower.contains("no route to host") || lower.contains("network is unreachable") {
            return "\(detail); check that the server runs and that the host and port in the URL are right"
        }
        if lower.contains("database") && lower.contains("does not exist") {
            return "\(detail); create it (createdb) or name an existing database in the URL"
        }
        return detail
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        withOptionalCStrings(strings.map { Optional($0) }) { pointers in
            body(pointers + [nil])
        }
    }

    /// Calls `body` with C strings for `strings` (nil stays nil), valid for the call.
    private static func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let copies = strings.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        return body(copies.map { $0.map { UnsafePointer($0) } })
    }
}

/// A transaction whose connection was lost and made again: the server rolled it back, so it may run
/// once more from its start.
struct LostTransaction: Error, CustomStringConvertible {
    let location: String
    let detail: String
    var description: String {
        "study database: the connection to \(location) was lost during a transaction, and again when it ran once more (\(detail)); check the server and the network, then run the command again"
    }
}
