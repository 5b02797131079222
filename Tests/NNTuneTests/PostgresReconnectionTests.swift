import Foundation
import XCTest
import PostgresTestServer
@testable import NNTune

/// A PostgreSQL connection that is lost (here: its server process terminated, as a server restart or a
/// dropped network does) is made again: statements go on in the study's schema, a transaction cut
/// short runs again from its start, the coordinator's lock is taken again or its loss reported, and a
/// server that does not come back is an error naming the cause within the reconnection window, or
/// at once when the study is asked to stop.
final class PostgresReconnectionTests: XCTestCase {
    private func uniqueName(_ label: String) -> String { "\(label)-\(UUID().uuidString.prefix(8).lowercased())" }

    private func backendPID(_ db: PostgresDatabase) throws -> Int {
        try XCTUnwrap(try db.query("SELECT pg_backend_pid()").first?.first?.int)
    }

    /// Terminates the server process of `pid` from another connection and waits (up to 5 s) until it is gone.
    private func terminate(_ pid: Int, on server: PostgresServer) throws {
        let admin = try PostgresDatabase(url: server.url)
        let done = try admin.query("SELECT pg_terminate_backend(CAST(? AS INTEGER), 5000)", [.integer(Int64(pid))]).first?.first
        XCTAssertEqual(done, .text("t"), "backend \(pid) terminated")
    }

    func testStatementsAndTransactionsGoOnOverANewConnection() throws {
        let server = try PostgresServer.shared()
        let db = try PostgresDatabase(url: server.url, studyName: uniqueName("reconnect"), create: true)
        try db.execute("CREATE TABLE numbers (x INTEGER)")

        let first = try backendPID(db)
        try terminate(first, on: server)
        // The table is found: the new connection is in the study's schema again.
        XCTAssertEqual(try db.query("SELECT count(*) FROM numbers").first?.first, .integer(0))
        XCTAssertNotEqual(try backendPID(db), first, "a new server process")

        var runs = 0
        try db.transaction {
            runs += 1
            try db.query("INSERT INTO numbers VALUES (?)", [.integer(Int64(runs))])
            if runs == 1 { try terminate(try backendPID(db), on: server) }
            try db.query("INSERT INTO numbers VALUES (10)")
        }
        XCTAssertEqual(runs, 2, "the transaction ran again after its connection was lost")
        XCTAssertEqual(try db.query("SELECT x FROM numbers ORDER BY x").map { $0.first?.int }, [2, 10],
                       "the first run's insert was rolled back with the old connection")
    }

    func testTheCoordinatorLockIsTakenAgainOrItsLossReported() throws {
        let server = try PostgresServer.shared()
        let name = uniqueName("lock")
        let location = try StudyLocation(root: URL(fileURLWithPath: NSTemporaryDirectory()), name: name)
        let storage = StudyStorage.postgres(url: server.url)
        let coordinator = try storage.open(location, create: true)
        try coordinator.takeCoordinatorRole(studyName: name)
        let database = try XCTUnwrap(coordinator.db as? PostgresDatabase)

        try terminate(try backendPID(database), on: server)
        try coordinator.touchCoordinator("a:1")
        XCTAssertThrowsError(try storage.open(location, create: false).takeCoordinatorRole(studyName: name),
                             "the lock was taken again with the new connection") { error in
            guard case TuneError.studyInUse = error else { return XCTFail("\(error)") }
        }

        // Another coordinator takes the lock while the first one's connection is down: the first one
        // learns it at its next statement instead of going on as a second coordinator.
        try terminate(try backendPID(database), on: server)
        let second = try storage.open(location, create: false)
        try second.takeCoordinatorRole(studyName: name)
        XCTAssertThrowsError(try coordinator.touchCoordinator("a:1")) { error in
            XCTAssertTrue("\(error)".contains("another process took the lock"), "\(error)")
        }
    }

    func testAServerThatDoesNotComeBackIsAnErrorWithinTheWindowOrAtAStop() throws {
        let server = try PostgresServer.shared()
        let admin = try PostgresDatabase(url: server.url)
        let role = "reconnect_\(UUID().uuidString.prefix(8).lowercased())"
        try admin.execute("CREATE ROLE \(role) LOGIN PASSWORD 'role-password'")
        defer { try? admin.execute("DROP ROLE IF EXISTS \(role)") }
        let db = try PostgresDatabase(url: "postgresql://\(role):role-password@127.0.0.1:\(server.port)/postgres")
        db.reconnectWindow = 1

        // The role may no longer log in: every new connection is refused, as by a server that stays away.
        try admin.execute("ALTER ROLE \(role) NOLOGIN")
        try terminate(try backendPID(db), on: server)
        let start = Date()
        XCTAssertThrowsError(try db.query("SELECT 1")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("could not connect again within 1 s") && text.contains("not permitted to log in"), text)
            XCTAssertFalse(text.contains("role-password"), "the password is masked: \(text)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "the window bounds the wait")

        // A stop (SIGINT, SIGTERM) ends the wait without sitting out the window.
        db.reconnectWindow = 60
        let stop = StopRequest()
        db.stopsWaiting = { stop.signal != nil }   // as StudyRunner and StudyWorker set it from their stop request
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { stop.request(signal: SIGINT) }
        let stopping = Date()
        XCTAssertThrowsError(try db.query("SELECT 1")) { error in
            XCTAssertTrue("\(error)".contains("stopped waiting for it, as asked"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(stopping), 10, "the stop ended the wait, not the 60 s window")
    }
}
