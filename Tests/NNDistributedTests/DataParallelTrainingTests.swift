import Foundation
import XCTest

/// `mpirun -np 2 nn train …` on loopback against the one-process run, on the digits fixture.
final class DataParallelTrainingTests: XCTestCase {
    static let digits = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/digits.csv").path

    /// Batch 66 over 2 ranks puts rank 1's first row at element 33·33 of the dropout draw, inside a
    /// Philox block, so the host-drawn mask path is exercised as well as batch norm across ranks.
    static let recipe = ["--data", digits, "--layers", "33", "--dropout", "0.8", "--batch", "66", "--epochs", "4",
                         "--seed", "5", "--dev-size", "0.2", "--json", "--no-progress"]

    /// With --sync-batchnorm the two ranks compute the one-process step up to the order of float
    /// additions (shard sums added across ranks; batch-norm sums in float32 columns instead of the fused
    /// kernel's Double blocks): about 1e-6 relative per step. Over 4 epochs of Adam that stays below
    /// 1e-4 of the epoch's mean loss, while any error in the averaging (a gradient not divided by the
    /// rank count, a shard trained twice, local batch statistics, a dropout mask that depends on the
    /// rank) moves it by 1e-2 or more.
    func testTwoRanksWithSyncBatchNormFollowOneRank() throws {
        let scratch = try ScratchFolder()
        let single = try MPIJob.start(try MPIJob.nn(), ["train"] + Self.recipe + ["--out", "one"], in: scratch.url).wait(seconds: 300)
        XCTAssertEqual(single.status, 0, single.stderr)
        let double = try MPIJob.startTraining(ranks: 2, Self.recipe + ["--sync-batchnorm", "--out", "two"], in: scratch.url)
            .wait(seconds: 300)
        XCTAssertEqual(double.status, 0, double.stderr)
        XCTAssertTrue(double.stdout.contains("data parallel: Open MPI") || double.stderr.contains("data parallel: Open MPI"),
                      "the 2-rank run must say it runs data parallel: \(double.stderr)")

        let one = try readMetrics(scratch.path("one")), two = try readMetrics(scratch.path("two"))
        XCTAssertEqual(one.count, 4)
        XCTAssertEqual(two.count, one.count)
        for (a, b) in zip(one, two) {
            XCTAssertEqual(b.train_loss, a.train_loss, accuracy: 1e-4 * a.train_loss, "epoch \(a.epoch) mean training loss")
        }
        let accuracyOne = try XCTUnwrap(try summary(single.stdout)["dev_accuracy"] as? Double)
        let accuracyTwo = try XCTUnwrap(try summary(double.stdout)["dev_accuracy"] as? Double)
        XCTAssertEqual(accuracyTwo, accuracyOne, accuracy: 0.003, "final dev accuracy within 0.3 pp")
        // Only rank 0 writes: nothing but the two run folders and the captured output appears.
        let entries = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).filter { !$0.hasPrefix("std") }
        XCTAssertEqual(Set(entries), ["one", "two"])
    }

    /// Ranks started with different settings or models stop with the same clear error on every rank,
    /// before anything is written.
    func testMismatchedRanksFailOnEveryRank() throws {
        let scratch = try ScratchFolder()
        let base = ["train", "--data", Self.digits, "--layers", "16", "--epochs", "1", "--no-progress", "--out", "run"]
        for (other, what) in [(["--lr", "0.002"], "the training settings"), (["--layers", "24"], "the model architecture")] {
            let arguments = MPIJob.mpirunFlags + ["-np", "1", try MPIJob.nn()] + base + [":", "-np", "1", try MPIJob.nn()] + base + other
            let started = Date()
            let r = try MPIJob.start(try MPIJob.mpirun(), arguments, in: scratch.url).wait(seconds: 120)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertLessThan(Date().timeIntervalSince(started), 60)
            for rank in 0..<2 {
                XCTAssertTrue(r.stderr.contains("nn (rank \(rank) of 2): ranks disagree: rank 1 disagrees with rank 0 on \(what)"),
                              "rank \(rank) must name the mismatch: \(r.stderr)")
            }
            XCTAssertFalse(r.stderr.contains("Fatal error"))
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("run")), "nothing is written when ranks disagree")
        }
    }

    /// A rank that stops answering (SIGSTOP: alive, but never reaching the next collective) makes
    /// rank 0 give up after NN_MPI_TIMEOUT with a message naming the call, and mpirun ends the job.
    func testHungRankEndsTheJobAfterTheTimeout() throws {
        let scratch = try ScratchFolder()
        let arguments = ["--data", Self.digits, "--layers", "32", "--epochs", "60", "--no-progress", "--out", "run"]
        let job = try MPIJob.startTraining(ranks: 2, arguments, in: scratch.url, exporting: ["NN_MPI_TIMEOUT=3"])
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: scratch.path("run/epoch-001")), job.process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        let victim = try XCTUnwrap(job.rankProcesses()[1], "rank 1's process under mpirun")
        XCTAssertEqual(kill(victim, SIGSTOP), 0)
        let stopped = Date()
        let r = try job.wait(seconds: 60)
        kill(victim, SIGKILL)
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 20, "the waiting rank must give up soon after the 3 s limit")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertNotNil(r.stderr.range(of: #"nn: rank 0 of 2 waited [0-9]+ s in MPI_"#, options: .regularExpression), r.stderr)
        XCTAssertTrue(r.stderr.contains("limit 3 s, set by NN_MPI_TIMEOUT"), r.stderr)
    }

    /// Killing rank 1 ends rank 0 within seconds with a message of its own; the run then resumes
    /// under mpirun from its last checkpoint.
    func testKilledRankEndsTheJobAndTheRunResumes() throws {
        let scratch = try ScratchFolder()
        let arguments = ["--data", Self.digits, "--layers", "32", "--epochs", "60", "--no-progress", "--out", "run"]
        let job = try MPIJob.startTraining(ranks: 2, arguments, in: scratch.url)
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: scratch.path("run/epoch-002")), job.process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        let victim = try XCTUnwrap(job.rankProcesses()[1], "rank 1's process under mpirun")
        XCTAssertEqual(kill(victim, SIGKILL), 0)
        let killed = Date()
        let r = try job.wait(seconds: 30)
        XCTAssertLessThan(Date().timeIntervalSince(killed), 10, "the surviving rank must end within seconds")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("nn (rank 0 of 2): stopped by mpirun: another rank of this job died or failed"), r.stderr)

        let done = try readMetrics(scratch.path("run")).count
        XCTAssertGreaterThanOrEqual(done, 2)
        let resumed = try MPIJob.startTraining(ranks: 2, ["--resume", "run", "--epochs", String(done + 2), "--no-progress"], in: scratch.url)
            .wait(seconds: 300)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resumed from run/epoch-\(String(format: "%03d", done))"), resumed.stdout)
        XCTAssertEqual(try readMetrics(scratch.path("run")).count, done + 2)
    }
}
