import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL server for the tests: a cluster made by `initdb` in a temporary folder, started
/// on a free loopback port with password (SCRAM) authentication, and stopped and removed when the
/// test process exits. Tests need nothing running beforehand, only Debian's `postgresql` package
/// (scripts/install-deps.sh installs it); without it they fail, naming the package.
///
/// PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user the
/// package creates, and its programs run through `runuser`.
///
/// A target of its own so that every test target that needs a server (NNTuneTests, NNDashboardTests)
/// shares this one.
public final class PostgresServer: @unchecked Sendable {
    public let directory: URL
    public let port: Int
    public let user = "nn"
    public let password = "nn-test-password"
    private let binaries: URL

    /// A URL with the right credentials, to the server's default database.
    public var url: String { "postgresql://\(user):\(password)@127.0.0.1:\(port)/postgres" }

    /// The server of this test process, started on first use.
    public static func shared() throws -> PostgresServer {
        try lock.withLock {
            if let server = instance { return server }
            if let failure { throw failure }
            do {
                let server = try PostgresServer()
                instance = server
                atexit { PostgresServer.instance?.stop() }
                return server
            } catch {
                failure = error
                throw error
            }
        }
    }

    nonisolated(unsafe) private static var instance: PostgresServer?
    nonisolated(unsafe) private static var failure: Error?
    private static let lock = NSLock()

    private init() throws {
        binaries = try Self.serverBinaries()
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("nn-postgres-\(getpid())-\(UUID().uuidString.prefix(8))")
        port = try Self.freePort()
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let passwordFile = directory.appendingPathComponent("password")
        try Data((password + "\n").utf8).write(to: passwordFile)
        if getuid() == 0 {
            // The postgres user must own the cluster and read the password file.
            for path in [directory.path, passwordFile.path] { try Self.run("/usr/bin/chown", ["postgres", path]) }
        }
        let data = directory.appendingPathComponent("data").path
        try runAsOwner("initdb", ["-D", data, "-U", user, "--pwfile=\(passwordFile.path)", "--auth-local=trust",
                                  "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8"])
        try runAsOwner("pg_ctl", ["-D", data, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "30",
                                  "-o", "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
                                  "start"])
    }

    /// Stops the server at once and removes its files.
    public func stop() {
        try? runAsOwner("pg_ctl", ["-D", directory.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    private func runAsOwner(_ program: String, _ arguments: [String]) throws {
        let path = binaries.appendingPathComponent(program).path
        if getuid() == 0 {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments)
        } else {
            try Self.run(path, arguments)
        }
    }

    /// The newest PostgreSQL server's programs in Debian's layout.
    private static func serverBinaries() throws -> URL {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        for version in versions.reversed() {
            let bin = URL(fileURLWithPath: "\(root)/\(version)/bin")
            if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) { return bin }
        }
        throw TestFailure("no PostgreSQL server under \(root); install it with `apt-get install postgresql` (scripts/install-deps.sh does)")
    }

    /// A loopback port nothing listens on now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket(): errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("bind(): errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a program to its end with posix_spawn and waitpid. Not `Process`: Foundation counts a child
    /// as running while any process holds the descriptors it passed on, and the server `pg_ctl start`
    /// leaves behind holds them for as long as it runs.
    private static func run(_ executable: String, _ arguments: [String]) throws {
        let outputPath = NSTemporaryDirectory() + "nn-postgres-command-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestFailure("cannot start \(executable): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0 && (status >> 8) & 0xff == 0
        guard exited else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) failed (wait status \(status)): \(text.suffix(800))")
        }
    }
}

/// A failed step of a test's setup, with what went wrong.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
