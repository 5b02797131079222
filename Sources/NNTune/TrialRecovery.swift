import Foundation

/// Puts a study left behind by a process that died back in order before any trial starts here.
///
/// A coordinator or worker can die at any instant: with workers still running (orphans), after a
/// worker finished but before its result was recorded, or between starting a worker and recording
/// it. Its running trials are the ones it owned (``WorkerIdentity``); those of a process of this host
/// that no longer exists (or, from a version-1 study, of no recorded owner) are abandoned for certain
/// and need not wait out the grace period. So, in order: every process still writing under an
/// abandoned trial's folder is killed and waited for (no trial may ever run two attempts at once);
/// those trials go back to `pending`; and a pending trial one of whose attempts on this machine
/// finished with a result is recorded `done` with it instead of being run again (a trial claimed but
/// left before its worker started gets that attempt back). Trials of live
/// workers, here or on other machines, are left to them; a silent one is re-queued by heartbeat.
struct TrialRecovery {
    let store: StudyStore
    let trialsDirectory: URL
    let worker: WorkerCommand
    let log: (String) -> Void

    func run() throws {
        let abandoned = try store.trials(status: .running).filter { WorkerIdentity.isDeadOnThisHost($0.worker) }
        stopOrphans(of: abandoned)
        let abandonedIDs = Set(abandoned.map(\.id))
        for t in try store.requeueInterrupted(where: { abandonedIDs.contains($0.id) && WorkerIdentity.isDeadOnThisHost($0.worker) }) {
            // A claim counts its attempt at once and its worker's folder comes just before the worker:
            // a claim with no folder of its own (numbered from its attempt on) started nothing, and a
            // trial must not be charged, or retried as if it had run, for it.
            if t.pid == nil, (attempts(of: t).map(\.0).max() ?? 0) < t.attempts, try store.giveBackUnstartedAttempt(t.id) {
                log("trial \(t.id) was claimed but its worker never started; it will run as attempt \(t.attempts)")
                continue
            }
            log("trial \(t.id) was interrupted (attempt \(t.attempts)); it will run again unless it finished")
        }
        for t in try store.trials(status: .pending) {
            try harvest(t)
        }
    }

    /// Kills every process still writing under the folders of `trials` (orphans of a dead process:
    /// workers of an `nn` from before workers died with their tuner, or a `--worker` that does not).
    private func stopOrphans(of trials: [TrialRecord]) {
        for t in trials {
            let prefix = trialsDirectory.appendingPathComponent(String(format: "trial-%04d", t.id)).path + "/"
            let orphans = WorkerProcess.processes(writingUnder: prefix)
            guard !orphans.isEmpty else { continue }
            let survivors = WorkerProcess.killAndWait(orphans, writingUnder: prefix)
            log("stopped \(orphans.count) orphaned worker\(orphans.count == 1 ? "" : "s") of trial \(t.id) (pid \(orphans.map(String.init).joined(separator: ", ")))")
            if !survivors.isEmpty {
                log("warning: worker pid \(survivors.map(String.init).joined(separator: ", ")) still runs after SIGKILL")
            }
        }
    }

    /// Records `trial` done from the newest of its attempts that finished with a result, if any.
    private func harvest(_ trial: TrialRecord) throws {
        for (number, attempt) in attempts(of: trial).reversed() {
            guard let (result, finishedAt) = Self.result(in: attempt) else { continue }
            let epochs = MetricsFollower(path: WorkerProcess.trainOutput(in: attempt).appendingPathComponent(worker.metricsFileName).path).poll()
            // The recorded start belongs to this attempt only if the tuner recorded this attempt.
            let recordedStart = trial.outputDirectory == attempt.path ? trial.startedAt : nil
            let startedAt = recordedStart ?? result.wallSeconds.map { finishedAt.addingTimeInterval(-$0) }
            try store.finishRecovered(trial.id, attempt: number, outputDirectory: attempt.path, result: result, epochs: epochs,
                                      startedAt: startedAt, finishedAt: finishedAt)
            log("trial \(trial.id) finished (attempt \(number)) before its tuner died: recorded done with dev accuracy "
                + "\(formatPercent(result.devAccuracy)) from \(attempt.path), not run again")
            return
        }
    }

    /// The trial's attempt folders (`attempt-N`), by N.
    private func attempts(of trial: TrialRecord) -> [(Int, URL)] {
        let folder = trialsDirectory.appendingPathComponent(String(format: "trial-%04d", trial.id))
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("attempt-"), let n = Int(name.dropFirst("attempt-".count)) else { return nil }
            return (n, folder.appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// The result a finished worker left in `attempt`: its `--json` line in stdout.log, or else its
    /// summary.json (written just before that line), with the time the file was written.
    static func result(in attempt: URL) -> (TrialResult, Date)? {
        let files = [attempt.appendingPathComponent("stdout.log"),
                     WorkerProcess.trainOutput(in: attempt).appendingPathComponent("summary.json")]
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            // summary.json may span lines; joined into one, it reads like the stdout line.
            let lines = file.lastPathComponent == "summary.json" ? text.split(whereSeparator: \.isNewline).joined(separator: " ") : text
            guard let result = try? WorkerOutput.result(fromStdout: lines) else { continue }
            let modified = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.modificationDate] as? Date
            return (result, modified ?? Date())
        }
        return nil
    }
}
