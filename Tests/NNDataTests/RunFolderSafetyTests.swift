import Foundation
import NNCore
import NNTrain
import XCTest

/// What issue 12's reliability probe broke in run folders: SIGKILL during checkpoint writes, two
/// runs into one `--out`, a symlink planted in the folder, leftovers of killed writes, and a resume
/// on another device. Every run uses the native backend (``NNProcess``) on 300 digits rows.
final class RunFolderSafetyTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var data = ""

    private var common: [String] { Fixture.smallRun(data: data) }

    override func setUpWithError() throws {
        scratch = try TemporaryDirectory()
        data = try Fixture.digitsPrefix(rows: 300, in: scratch)
    }

    override func tearDown() { scratch = nil }

    private func path(_ parts: String...) -> String {
        parts.reduce(scratch.path) { ($0 as NSString).appendingPathComponent($1) }
    }

    private func waitFor(_ condition: () -> Bool, while process: NNProcess, seconds: TimeInterval = 120) {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition(), process.process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
    }

    /// Every entry whose name marks a temporary of an atomic write, at any depth.
    private func temporaries(in folder: String) -> [String] {
        let names = FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? []
        return names.filter { ($0 as NSString).lastPathComponent.contains(".tmp-") }
    }

    /// Loads `folder/name` as `nn eval` and `--resume` would, failing the test if it is incomplete or torn.
    private func assertLoadable(_ run: String, _ name: String, after kill: Int, file: StaticString = #filePath, line: UInt = #line) {
        let folder = path(run, name)
        do {
            let model = try ModelCheckpoint.describe(folder)
            let state = try TrainingCheckpoint.read(directory: folder).state
            XCTAssertEqual(model.metadata["step"], String(state.globalStep),
                           "kill \(kill): \(name)/ holds a model and a training state of different steps", file: file, line: line)
        } catch {
            XCTFail("kill \(kill): \(name)/ does not load: \(error)", file: file, line: line)
        }
    }

    /// SIGKILL at 20 moments of a run that checkpoints every epoch of a few tens of milliseconds:
    /// every other kill as soon as a checkpoint folder is being filled (so kills surely land inside
    /// writes), the others after a seeded random delay. After each, `best/` and the newest
    /// `epoch-NNN/` load, with model and state from one step; the next start removes the
    /// temporaries; the run completes with every epoch recorded once.
    func testSIGKILLAtRandomMomentsLeavesLoadableCheckpoints() throws {
        var seed: UInt64 = 20_261_130
        func nextDelay() -> TimeInterval {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(seed >> 11) / Double(1 << 53) * 0.15
        }
        func writing() -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: path("run"))) ?? []).contains { $0.contains(".tmp-") }
        }
        var victim = try NNProcess.start(["train"] + common + ["--epochs", "5000", "--out", path("run")], scratch: scratch)
        waitFor({ FileManager.default.fileExists(atPath: path("run", "epoch-001")) }, while: victim)
        var epochsSeen: [Int] = []
        var killsInsideWrites = 0
        for kill in 1...20 {
            if kill.isMultiple(of: 2) {
                let deadline = Date().addingTimeInterval(10)
                while !writing(), victim.process.isRunning, Date() < deadline { usleep(200) }
            } else {
                Thread.sleep(forTimeInterval: nextDelay())
            }
            XCTAssertTrue(victim.process.isRunning, "kill \(kill): the run ended before it was killed")
            Foundation.kill(victim.process.processIdentifier, SIGKILL)
            _ = try victim.wait()
            guard let newest = OutputFolderNames.epochs(in: path("run")).last else { return XCTFail("kill \(kill): no epoch checkpoint") }
            epochsSeen.append(newest)
            if !temporaries(in: path("run")).isEmpty { killsInsideWrites += 1 }
            assertLoadable("run", String(format: "epoch-%03d", newest), after: kill)
            assertLoadable("run", "best", after: kill)
            if kill == 20 { break }
            victim = try NNProcess.start(["train", "--resume", path("run"), "--no-progress"], scratch: scratch)
            // The next kill lands while the resumed run trains, not while it starts up.
            waitFor({ (OutputFolderNames.epochs(in: path("run")).last ?? 0) > newest }, while: victim)
        }
        // The last resume finishes the run a few epochs on.
        let target = (epochsSeen.last ?? 0) + 3
        try NNProcess.succeed(["train", "--resume", path("run"), "--set", "epochs=\(target)", "--no-progress"], scratch: scratch)
        XCTAssertEqual(temporaries(in: path("run")), [], "no temporary survives a completed start")
        let metrics = try String(contentsOfFile: path("run", "metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let recorded = metrics.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["epoch"] as? Int
        }
        XCTAssertEqual(recorded, Array(1...target), "every epoch recorded exactly once, in order (kills at epochs \(epochsSeen))")
        XCTAssertGreaterThan(Set(epochsSeen).count, 10, "the kills landed at many different epochs: \(epochsSeen)")
        // Without kills inside writes this test would prove nothing about them.
        XCTAssertGreaterThanOrEqual(killsInsideWrites, 5, "too few kills landed inside a checkpoint write")
        print("SIGKILL test: \(killsInsideWrites) of 20 kills landed inside a write; epochs \(epochsSeen)")
    }

    /// A kill between filling `epoch-004/` under its temporary name and renaming it leaves a complete
    /// checkpoint the next start puts in place; metrics.jsonl already holds epoch 4's row (it is
    /// written first). The resume must continue from that epoch-004/, so it is put in place before
    /// the resume is planned: planned first, the resume continued from epoch 3 and dropped row 4, and
    /// a second kill before epoch 4 was trained again left epoch-004/ without its row for good (the
    /// random-kill test above caught it now and then).
    func testAResumeContinuesFromACheckpointAKillLeftUnderItsTemporaryName() throws {
        try NNProcess.succeed(["train"] + common + ["--epochs", "4", "--out", path("cut")], scratch: scratch)
        try FileManager.default.moveItem(atPath: path("cut", "epoch-004"), toPath: path("cut", ".epoch-004.tmp-1-1"))

        try NNProcess.succeed(["train", "--resume", path("cut"), "--set", "epochs=5", "--no-progress"], scratch: scratch)
        let events = try String(contentsOfFile: path("cut", "history.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let resume = try XCTUnwrap(events.last { $0["event"] as? String == "resume" })
        XCTAssertEqual(resume["checkpoint"] as? String, "epoch-004", "the resume continues from the checkpoint put back in place")
        let metrics = try String(contentsOfFile: path("cut", "metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let recorded = metrics.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["epoch"] as? Int
        }
        XCTAssertEqual(recorded, [1, 2, 3, 4, 5], "every epoch recorded exactly once")
        XCTAssertEqual(temporaries(in: path("cut")), [])
    }

    /// A second `nn train` into a folder in use is refused naming the holder; the first is untouched.
    func testASecondRunIntoTheSameFolderIsRefused() throws {
        let first = try NNProcess.start(["train"] + common + ["--epochs", "150", "--out", path("shared")], scratch: scratch)
        waitFor({ FileManager.default.fileExists(atPath: path("shared", "epoch-001")) }, while: first)
        XCTAssertTrue(first.process.isRunning, "the first run ended too soon; give it more epochs")
        for extra in [[], ["--overwrite"]] {
            let second = try NNProcess.run(["train"] + common + ["--epochs", "2", "--out", path("shared")] + extra, scratch: scratch)
            XCTAssertEqual(second.status, 1, second.stderr)
            XCTAssertTrue(second.stderr.contains("in use by another nn train (pid \(first.process.processIdentifier))"), second.stderr)
        }
        let resumed = try NNProcess.run(["train", "--resume", path("shared")], scratch: scratch)
        XCTAssertEqual(resumed.status, 1, "a resume of a live run is refused too: \(resumed.stderr)")
        let done = try first.wait()
        XCTAssertEqual(done.status, 0, done.stderr)
        let events = try String(contentsOfFile: path("shared", "history.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(events.count, 1, "only the first run's start: \(events)")
        XCTAssertEqual(OutputFolderNames.epochs(in: path("shared")).count, 150)
    }

    /// A symlink planted inside `--out` is replaced, never written through; leftovers of a killed
    /// write are removed on the next start, and a complete checkpoint left under its temporary name
    /// by a write without exchange is put back.
    func testPlantedLinksAndLeftoversAreHandledOnResume() throws {
        try NNProcess.succeed(["train"] + common + ["--epochs", "3", "--max-steps", "12", "--out", path("run")], scratch: scratch)
        let outside = path("precious.txt")
        try "precious".write(toFile: outside, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: path("run", "metrics.jsonl"))
        try FileManager.default.createSymbolicLink(atPath: path("run", "metrics.jsonl"), withDestinationPath: outside)
        try "torn".write(toFile: path("run", "epoch-001", ".model.safetensors.tmp-123-456"), atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: path("run", ".epoch-002.tmp-77-88"), withIntermediateDirectories: false)

        let resumed = try NNProcess.succeed(["train", "--resume", path("run")], scratch: scratch)
        XCTAssertTrue(resumed.stdout.contains("removed 2 temporary file(s) left by an interrupted write"), resumed.stdout)
        XCTAssertEqual(try String(contentsOfFile: outside, encoding: .utf8), "precious", "the link's target is untouched")
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: path("run", "metrics.jsonl")), "the link was replaced by the file")
        XCTAssertEqual(temporaries(in: path("run")), [])
    }

    /// An absurd size is refused with its limit before anything is allocated or created
    /// (`--layers 1000000000000` and `--classes 1000000000000` used to abort allocating terabytes).
    func testAbsurdLayerSizesAreRefusedBeforeAnythingIsCreated() throws {
        for extra in [["--layers", "1000000000000"], ["--layers", "100000,100000"], ["--classes", "1000000000000"]] {
            let r = try NNProcess.run(["train"] + common + extra + ["--out", path("absurd")], scratch: scratch)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("\(NetworkSpec.maximumWidth)") || r.stderr.contains("\(NetworkSpec.maximumParameters)"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("absurd")), "nothing is created for a refused run")
        }
    }

    /// A resume records the device; another thread count keeps the run bit for bit, another
    /// backend says it no longer is, in the log and in history.jsonl.
    func testResumeOnAnotherDeviceSaysWhetherItStaysBitForBit() throws {
        try NNProcess.succeed(["train"] + common + ["--epochs", "3", "--max-steps", "12", "--out", path("run")], scratch: scratch,
                              environment: ["NN_NATIVE_THREADS": "2"])
        let threads = try NNProcess.succeed(["train", "--resume", path("run"), "--max-steps", "20"], scratch: scratch,
                                            environment: ["NN_NATIVE_THREADS": "1"])
        XCTAssertTrue(threads.stdout.contains("results do not depend on the thread count or GEMM tile, so it stays bit for bit"), threads.stdout)
        let moved = try NNProcess.succeed(["train", "--resume", path("run"), "--backend", "opencl"], scratch: scratch)
        XCTAssertTrue(moved.stdout.contains("no longer bit for bit"), moved.stdout)
        let events = try String(contentsOfFile: path("run", "history.jsonl"), encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(events.map { $0["event"] as? String }, ["start", "resume", "resume"])
        XCTAssertEqual(events[1]["bit_for_bit"] as? Bool, true)
        XCTAssertEqual(events[2]["bit_for_bit"] as? Bool, false)
        XCTAssertTrue((events[2]["device"] as? String)?.hasPrefix("opencl") ?? false, "\(events[2])")
    }
}

/// The `epoch-NNN` checkpoint numbers in a run folder, ascending.
enum OutputFolderNames {
    static func epochs(in folder: String) -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).compactMap { name in
            name.hasPrefix("epoch-") ? Int(name.dropFirst(6)) : nil
        }.sorted()
    }
}
