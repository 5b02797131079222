import Foundation
import XCTest
import PostgresTestServer
@testable import NNTune

/// `nn tune list`: the studies under a folder or in a PostgreSQL database, one line (or JSON object)
/// each with trials by state and the best result; one that cannot be read is named, not fatal.
final class TuneListTests: XCTestCase {
    /// A study of `done` finished trials (dev accuracy 0.5, 0.6, …) and `pending` ones.
    private func makeStudy(_ storage: StudyStorage, _ location: StudyLocation, done: Int, pending: Int) throws {
        let store = try storage.open(location, create: true)
        let space = try learningRateSpace()
        try store.saveConfiguration(StudyConfiguration(space: space, trialsPerRound: done + pending))
        let assignments = RandomSampler(seed: 3).assignments(round: 0, count: done + pending, box: space.fullBox, space: space)
        let ids = try store.addRound(0, box: space.fullBox, assignments: assignments)
        for (i, id) in ids.prefix(done).enumerated() {
            try store.markRunning(id, pid: 0, outputDirectory: "/nowhere/\(id)")
            try store.finish(id, status: .done, result: TrialResult(devAccuracy: 0.5 + 0.1 * Double(i)))
        }
    }

    private func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        }
    }

    func testStudiesUnderAFolder() throws {
        let base = try makeTemporaryDirectory("list")
        defer { try? FileManager.default.removeItem(at: base) }
        let root = base.appendingPathComponent("tune")
        for (name, done, pending) in [("alpha", 2, 1), ("beta", 3, 0)] {
            let location = try StudyLocation(root: root, name: name)
            try FileManager.default.createDirectory(at: location.directory, withIntermediateDirectories: true)
            try makeStudy(.sqlite(path: nil), location, done: done, pending: pending)
        }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("not-a-study"), withIntermediateDirectories: true)
        let broken = root.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try Data("not a database".utf8).write(to: broken.appendingPathComponent("study.sqlite"))

        let text = try TuneCLI.run(["tune", "list", "--root", root.path], in: base, label: "list")
        XCTAssertEqual(text.status, 0, text.stderr)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, text.stdout)
        XCTAssertTrue(lines[0].hasPrefix("study alpha: 3 trials (1 pending, 0 running, 2 done") && lines[0].hasSuffix("best dev accuracy 60.00 % (trial 2)"),
                      lines[0])
        XCTAssertTrue(lines[1].hasPrefix("study beta: 3 trials") && lines[1].contains("best dev accuracy 70.00 % (trial 3)"), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("study broken: cannot be read"), "a damaged study is named, the others still listed: \(lines[2])")

        let json = try TuneCLI.run(["tune", "list", "--root", root.path, "--json"], in: base, label: "json")
        let listed = try objects(json.stdout)
        XCTAssertEqual(listed.map { $0["study"] as? String }, ["alpha", "beta", "broken"])
        XCTAssertEqual(listed[0]["pending"] as? Int, 1)
        XCTAssertEqual(listed[1]["best_trial"] as? Int, 3)
        XCTAssertNotNil(listed[2]["error"] as? String)

        let empty = try TuneCLI.run(["tune", "list", "--root", base.appendingPathComponent("none").path], in: base, label: "empty")
        XCTAssertEqual(empty.status, 0)
        XCTAssertTrue(empty.stdout.hasPrefix("no studies under"), empty.stdout)
        let file = try TuneCLI.run(["tune", "list", "--storage", broken.appendingPathComponent("study.sqlite").path], in: base, label: "file")
        XCTAssertEqual(file.status, 2, "one study's file is not a list: \(file.stderr)")
    }

    func testStudiesInPostgreSQL() throws {
        let server = try PostgresServer.shared()
        let base = try makeTemporaryDirectory("list-postgres")
        defer { try? FileManager.default.removeItem(at: base) }
        let name = "list-\(UUID().uuidString.prefix(8).lowercased())"
        try makeStudy(.postgres(url: server.url), try StudyLocation(root: base, name: name), done: 1, pending: 2)

        let run = try TuneCLI.run(["tune", "list", "--storage", server.url, "--json"], in: base, label: "postgres")
        XCTAssertEqual(run.status, 0, run.stderr)
        let mine = try objects(run.stdout).filter { $0["study"] as? String == name }
        XCTAssertEqual(mine.count, 1, run.stdout)
        XCTAssertEqual(mine.first?["trials"] as? Int, 3)
        XCTAssertEqual(mine.first?["done"] as? Int, 1)
        XCTAssertEqual(mine.first?["best_dev_accuracy"] as? Double, 0.5)
        XCTAssertFalse(run.stdout.contains(server.password) || run.stderr.contains(server.password))
    }
}
