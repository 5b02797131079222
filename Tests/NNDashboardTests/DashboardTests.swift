import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import NNDashboard
import NNTune
import PostgresTestServer
import XCTest

/// The dashboard served over real loopback HTTP against fixture runs and a fixture study written
/// the way `nn train` and `nn tune` write them: what each page and API returns, live changes, run
/// states, and requests that try to leave the root.
final class DashboardTests: XCTestCase {
    private var root = ""
    private var outside = ""
    private var base = ""
    private var servers: [Task<Void, Error>] = []

    override func setUp() async throws {
        let scratch = NSTemporaryDirectory() + "dashboard-tests-\(UUID().uuidString)"
        root = scratch + "/runs"
        outside = scratch + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "s3cr3t-file-content".write(toFile: outside + "/secret.txt", atomically: true, encoding: .utf8)
        try writeRun("fmnist", epochs: 2, summary: true)
        try writeRun("exp/a", epochs: 3, summary: false)
        try writeStudy("tune/lr")
        try FileManager.default.createSymbolicLink(atPath: root + "/escape", withDestinationPath: outside)
        base = try await serve()
    }

    /// Starts a dashboard of the root on a free port; its base URL (no trailing slash).
    private func serve(sharedStudies: StudyStorage? = nil) async throws -> String {
        let ready = AsyncStream<String>.makeStream()
        let dashboard = DashboardServer(root: root, host: "127.0.0.1", port: 0, sharedStudies: sharedStudies)
        servers.append(Task { try await dashboard.run { url in ready.continuation.yield(url) } })
        for await url in ready.stream { return String(url.dropLast()) }
        throw TestFailure("the dashboard did not start")
    }

    override func tearDown() async throws {
        servers.forEach { $0.cancel() }
        try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent)
    }

    // MARK: Fixtures

    private func epochLine(_ epoch: Int) -> String {
        let accuracy = 0.8 + 0.03 * Double(epoch)
        return #"{"epoch":\#(epoch),"complete":true,"step":\#(epoch * 10),"train_loss":\#(1.0 / Double(epoch)),"train_accuracy":\#(accuracy + 0.02),"#
            + #""dev_loss":\#(1.1 / Double(epoch)),"dev_accuracy":\#(accuracy),"learning_rate":0.001,"seconds":1.0}"#
    }

    private func writeRun(_ id: String, epochs: Int, summary: Bool) throws {
        let folder = root + "/" + id
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let history = #"{"event":"start","run_id":"r","epoch":0,"step":0,"settings":{"data":"digits","layers":"16","lr":"0.001","epochs":"5"}}"#
            + "\n" + #"{"event":"resume","run_id":"r","epoch":1,"step":10,"changes":{"lr":["0.001","0.0003"]}}"# + "\n"
        try history.write(toFile: folder + "/history.jsonl", atomically: true, encoding: .utf8)
        try ((1...epochs).map(epochLine).joined(separator: "\n") + "\n").write(toFile: folder + "/metrics.jsonl", atomically: true, encoding: .utf8)
        if summary {
            Thread.sleep(forTimeInterval: 0.01)
            try #"{"epochs":2,"train_accuracy":0.88,"dev_accuracy":0.86,"test_accuracy":0.85,"best_epoch":2,"best_dev_accuracy":0.86,"stopped_early":false}"#
                .write(toFile: folder + "/summary.json", atomically: true, encoding: .utf8)
        }
    }

    private func writeStudy(_ id: String) throws {
        let folder = root + "/" + id
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try fill(try StudyStore(path: folder + "/study.sqlite"), trialFolder: folder + "/trials")
    }

    /// A study of `count` trials: the third pruned, the others done (80, 85, 90 %, …).
    private func fill(_ store: StudyStore, trialFolder folder: String, count: Int = 3) throws {
        let space = try SearchSpace(["lr": .logUniform(low: 1e-4, high: 1e-1), "momentum": .oneMinusLogUniform(low: 0.8, high: 0.99),
                                     "batch": .choice([.integer(32), .integer(64)])])
        try store.saveConfiguration(StudyConfiguration(space: space, trialsPerRound: count))
        let ids = try store.addRound(0, box: space.fullBox, assignments: RandomSampler(seed: 1).assignments(round: 0, count: count, box: space.fullBox, space: space))
        for (i, id) in ids.enumerated() {
            try store.markRunning(id, pid: 0, outputDirectory: folder + "/\(id)")
            if i == 2 {
                try store.finish(id, status: .pruned, error: "below the median")
            } else {
                try store.finish(id, status: .done, result: TrialResult(devAccuracy: 0.8 + 0.05 * Double(i)))
            }
        }
    }

    // MARK: HTTP

    private func get(_ target: String) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: try XCTUnwrap(URL(string: base + target)))
        request.cachePolicy = .reloadIgnoringLocalCacheData
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Sends `target` exactly as written (URLSession would normalise `..` away before sending).
    private func rawGet(_ target: String, method: String = "GET") throws -> (status: Int, body: String) {
        let port = try XCTUnwrap(Int(base.split(separator: ":").last ?? ""))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0)
        let request = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, text)
    }

    private func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    // MARK: Tests

    func testRunsListRunPageAndLiveUpdate() async throws {
        let list = try await get("/api/runs")
        XCTAssertEqual(list.status, 200)
        let runs = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(list.body.utf8)) as? [String: Any])?["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.map { $0["id"] as? String }, ["exp/a", "fmnist"], "nested runs found; the study folder is no run")
        XCTAssertEqual(runs.first { $0["id"] as? String == "fmnist" }?["status"] as? String, "finished")
        XCTAssertEqual(runs.first { $0["id"] as? String == "exp/a" }?["status"] as? String, "running", "no summary, written just now")

        let page = try await get("/")
        XCTAssertEqual(count("<tr data-run=", in: page.body), 2)
        XCTAssertTrue(page.body.contains("href=\"/runs/exp/a\""), page.body)

        let run = try await get("/runs/fmnist")
        XCTAssertEqual(run.status, 200)
        XCTAssertTrue(run.body.contains("id=\"loss-chart\"") && run.body.contains("id=\"accuracy-chart\""))
        XCTAssertEqual(count("class=\"point\"", in: run.body), 8, "2 epochs × (train, dev) × (loss, accuracy)")
        XCTAssertTrue(run.body.contains("resume: lr 0.001→0.0003"), "the resume is marked")
        XCTAssertTrue(run.body.contains("Bias/variance after epoch 2"), "the reading")
        XCTAssertTrue(run.body.contains("learning rate"), "the rate on the second axis")

        // A new epoch changes the version the page polls, and the charts it then fetches.
        let before = try await get("/api/runs/fmnist/version").body
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: root + "/fmnist/metrics.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data((epochLine(3) + "\n").utf8))
        handle.closeFile()
        let after = try await get("/api/runs/fmnist/version").body
        XCTAssertNotEqual(before, after)
        let charts = try await get("/runs/fmnist/charts")
        XCTAssertEqual(count("class=\"point\"", in: charts.body), 12)

        let compared = try await get("/compare?runs=fmnist,exp/a")
        XCTAssertEqual(compared.status, 200)
        XCTAssertTrue(compared.body.contains("exp/a dev") && compared.body.contains("fmnist dev"))
    }

    func testRunStatesFollowTheFiles() throws {
        let catalog = RunCatalog(paths: SafePath(root: root))
        try writeRun("killed", epochs: 1, summary: false)
        let old = Date(timeIntervalSinceNow: -3600)
        for name in ["metrics.jsonl", "history.jsonl"] {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: root + "/killed/" + name)
        }
        XCTAssertEqual(catalog.run(id: "killed")?.status, .stopped, "no summary and no write for an hour")
        try writeRun("diverged", epochs: 1, summary: false)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: root + "/diverged/history.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data((#"{"event":"diverged","run_id":"r","epoch":1,"step":10}"# + "\n").utf8))
        handle.closeFile()
        XCTAssertEqual(catalog.run(id: "diverged")?.status, .diverged)
        try #"{"stopped_early":true}"#.write(toFile: root + "/killed/summary.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(catalog.run(id: "killed")?.status, .stoppedEarly)
    }

    func testStudyPageShowsTrialsBoxesAndPlots() async throws {
        let list = try await get("/studies")
        XCTAssertTrue(list.body.contains("data-study=\"tune/lr\""), list.body)
        for target in ["/studies/tune/lr", "/studies/lr"] {
            let page = try await get(target)
            XCTAssertEqual(page.status, 200, target)
            XCTAssertEqual(count("<tr data-trial=", in: page.body), 3)
            XCTAssertTrue(page.body.contains("class=\"pruned\""), "pruned trials are marked")
            XCTAssertTrue(page.body.contains("id=\"best-so-far\"") && page.body.contains("id=\"parallel-coordinates\""))
            XCTAssertTrue(page.body.contains("1 − momentum (log)"), "β-like axes on their natural scale")
            XCTAssertTrue(page.body.contains("round 1: lr ∈"), "the round's box")
            XCTAssertTrue(page.body.contains("85.00 %"), "accuracy in percent")
        }
        let api = try await get("/api/studies/lr")
        let trials = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(api.body.utf8)) as? [String: Any])?["trials"] as? [[String: Any]])
        XCTAssertEqual(trials.map { $0["status"] as? String }, ["done", "done", "pruned"])
    }

    /// With a shared store (`nn dashboard --storage postgresql://…`) its studies are listed after the
    /// root's and served like them, read-only, with the password masked; an unknown one is 404. A
    /// server that cannot be reached is named on the studies page, which still lists the root's.
    func testStudiesInPostgreSQLAreListedBesideTheRootsAndAnUnreachableServerIsShown() async throws {
        let postgres = try PostgresServer.shared()
        let name = "dashboard-\(UUID().uuidString.prefix(8).lowercased())", other = name + "-b"
        let storage = StudyStorage.postgres(url: postgres.url)
        // Two shared studies, told apart by their trial counts: the listing reads both over one connection.
        for (study, count) in [(name, 3), (other, 5)] {
            try fill(try storage.open(try StudyLocation(root: URL(fileURLWithPath: root), name: study), create: true),
                     trialFolder: "/elsewhere/trials", count: count)
        }
        base = try await serve(sharedStudies: storage)

        let list = try await get("/studies")
        XCTAssertTrue(list.body.contains("data-study=\"tune/lr\""), "the root's study: \(list.body)")
        XCTAssertTrue(list.body.contains("data-study=\"postgresql:\(name)\""), "the shared study: \(list.body)")
        XCTAssertFalse(list.body.contains(postgres.password), "the password is masked")
        let page = try await get("/studies/postgresql:\(name)")
        XCTAssertEqual(page.status, 200, page.body)
        XCTAssertEqual(count("<tr data-trial=", in: page.body), 3)
        XCTAssertTrue(page.body.contains("85.00 %"))
        let api = try await get("/api/studies/postgresql:\(name)")
        let trials = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(api.body.utf8)) as? [String: Any])?["trials"] as? [[String: Any]])
        XCTAssertEqual(trials.map { $0["status"] as? String }, ["done", "done", "pruned"])
        let listedBody = try await get("/api/studies").body
        let listed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(listedBody.utf8)) as? [String: Any])
        let shared = ((listed["studies"] as? [[String: Any]]) ?? []).filter { ($0["id"] as? String)?.contains(name) == true }
        XCTAssertEqual(shared.map { $0["id"] as? String }, ["postgresql:\(name)", "postgresql:\(other)"])
        XCTAssertEqual(shared.map { $0["trials"] as? Int }, [3, 5], "each study read in its own schema")
        let absent = try await get("/studies/postgresql:no-such-study")
        XCTAssertEqual(absent.status, 404, absent.body)
        let notAName = try await get("/studies/postgresql:no%20such%3Bstudy")
        XCTAssertEqual(notAName.status, 404, "not a study name: \(notAName.body)")

        // Nothing listens on this port: the page says so (the refused connection, with libpq's advice)
        // and still lists the root's study.
        let unreachable = "postgresql://nn:hidden-password@127.0.0.1:\(try PostgresServer.freePort())/postgres"
        base = try await serve(sharedStudies: .postgres(url: unreachable))
        let down = try await get("/studies")
        XCTAssertEqual(down.status, 200)
        XCTAssertTrue(down.body.contains("data-study=\"tune/lr\""), down.body)
        XCTAssertTrue(down.body.contains("cannot be listed") && down.body.contains("check that the server runs"), down.body)
        XCTAssertFalse(down.body.contains("hidden-password"), "the password is masked: \(down.body)")
        let downBody = try await get("/api/studies").body
        let downJSON = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(downBody.utf8)) as? [String: Any])
        XCTAssertNotNil(downJSON["shared_problem"] as? String)
        let downPage = try await get("/studies/postgresql:\(name)")
        XCTAssertEqual(downPage.status, 500)
        XCTAssertTrue(downPage.body.contains("check that the server runs"), downPage.body)
    }

    /// Nothing outside the root is ever served, however the path is spelled.
    func testRequestsThatLeaveTheRootAreRefused() async throws {
        for target in ["/runs/../../etc/passwd", "/runs/..%2f..%2fetc%2fpasswd", "/runs/%2e%2e/%2e%2e/etc/passwd", "/../outside/secret.txt",
                       "/runs/escape", "/runs/escape/secret.txt", "/static/../../../etc/passwd", "/studies/..%2F..%2Foutside",
                       "/api/runs/escape", "/runs/fmnist%00/x", "/compare?runs=../outside"] {
            let r = try rawGet(target)
            XCTAssertTrue([400, 404].contains(r.status), "\(target): \(r.status)")
            XCTAssertFalse(r.body.contains("s3cr3t-file-content") || r.body.contains("root:x"), "\(target) leaked a file: \(r.body)")
        }
        let long = try rawGet("/api/runs?" + String(repeating: "a", count: 5000))
        XCTAssertTrue([400, 413, 414, 431].contains(long.status), "an oversized query: \(long.status)")
        XCTAssertEqual(try rawGet("/api/runs", method: "POST").status, 405, "read-only")
        XCTAssertEqual(try rawGet("/api/runs").status, 200, "still serving")
        XCTAssertNil(SafePath(root: root).resolve(["escape"]), "a link inside the root is not followed")
        // A folder whose run files are links out of the root is no run, and nothing of theirs is read.
        try FileManager.default.createDirectory(atPath: root + "/linked", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: root + "/linked/metrics.jsonl", withDestinationPath: outside + "/secret.txt")
        XCTAssertNil(RunCatalog(paths: SafePath(root: root)).run(id: "linked"))
        let listed = try await get("/api/runs").body
        XCTAssertFalse(listed.contains("linked"), listed)
        XCTAssertNotNil(SafePath(root: root).resolve(["exp", "a"]))
    }
}
