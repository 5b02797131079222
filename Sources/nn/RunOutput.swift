import Foundation
import NNCore
import NNTrain

/// The files a training run leaves in its `--out` folder.
///
///     metrics.jsonl            one JSON object per epoch, appended and flushed as each epoch ends
///     learning-curve.svg       train/dev loss and accuracy per epoch, redrawn every epoch
///     epoch-003/               checkpoint after epoch 3: model.safetensors + training-state.safetensors
///     partial/                 checkpoint of a run stopped mid-epoch by --max-steps
///     best/                    the checkpoint of the best dev epoch so far
///     summary.json             the final JSON line of the run
///     history.jsonl            every start, resume and rollback of the run (see ``RunHistory``)
///     superseded/              what rollbacks replaced (see ``ResumePlan``)
///
/// Every file and every checkpoint folder is replaced atomically, so a run killed at any moment
/// leaves only complete files and complete checkpoints behind (plus hidden temporaries, removed
/// when the folder is next used).
final class RunOutput {
    let directory: String
    private var metricsLines: [String] = []

    /// - Parameter continuing: the metrics lines of a resumed run that stay; nil starts a new file.
    init(directory: String, continuing: [String]? = nil) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure.failed("cannot create the output folder \(directory) (\(error.localizedDescription)); choose another --out")
        }
        // A new run starts a new metrics file; stale lines of an earlier run would mislead readers.
        metricsLines = continuing ?? []
        try AtomicFile.write(metricsLines.map { $0 + "\n" }.joined(), to: path("metrics.jsonl"), followingSymlinks: false)
    }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Appends epoch `m` of a run planned for `epochs` epochs (a tuner does not prune a trial's last one).
    func recordEpoch(_ m: EpochMetrics, of epochs: Int) throws {
        var line = JSONLine()
        line.add("epoch", m.epoch)
        line.add("epochs", epochs)
        line.add("complete", m.isComplete)
        line.add("step", m.globalStep)
        line.add("train_loss", m.trainLoss)
        line.add("train_cost", m.trainCost)
        line.add("train_accuracy", m.trainAccuracy)
        line.add("dev_loss", m.devLoss)
        line.add("dev_accuracy", m.devAccuracy)
        line.add("learning_rate", m.learningRate)
        line.add("seconds", m.seconds)
        line.add("samples_per_second", m.samplesPerSecond)
        metricsLines.append(line.text)
        // Rewritten whole (it is small) so readers never see a half-written line.
        try AtomicFile.write(metricsLines.joined(separator: "\n") + "\n", to: path("metrics.jsonl"), followingSymlinks: false)
    }

    /// Writes `name/model.safetensors` and `name/training-state.safetensors` as one folder that
    /// appears complete or not at all (see ``AtomicDirectory``). A network or state holding NaN or
    /// infinity is refused before anything is written, so `best/` never becomes a diverged model.
    func saveCheckpoint(network: Network, trainer: Trainer, name: String, metadata: [String: String]) throws {
        do {
            try AtomicDirectory.write(to: path(name)) { folder in
                try ModelCheckpoint.save(network, toDirectory: folder, metadata: metadata)
                try TrainingCheckpoint.save(trainer: trainer, toDirectory: folder)
            }
        } catch NNError.nonFinite(let detail) {
            throw NNError.nonFinite(detail: "checkpoint \(path(name))/: \(detail)")
        }
    }

    /// Copies checkpoint `source` to `destination` as one atomic folder (used to point `best/` back
    /// at an epoch of the live history after a rollback).
    func copyCheckpoint(_ source: String, to destination: String) throws {
        try AtomicDirectory.write(to: path(destination)) { folder in
            for file in [ModelCheckpoint.modelFileName, ModelCheckpoint.trainingStateFileName] {
                let from = (path(source) as NSString).appendingPathComponent(file)
                guard let bytes = FileManager.default.contents(atPath: from) else {
                    throw CommandFailure.failed("cannot read \(from); the checkpoint is incomplete")
                }
                try AtomicFile.write([UInt8](bytes), to: (folder as NSString).appendingPathComponent(file))
            }
        }
    }

    /// Removes a checkpoint folder that a newer one superseded (a `partial/` once its epoch completes).
    func removeCheckpoint(_ name: String) throws {
        guard FileManager.default.fileExists(atPath: path(name)) else { return }
        do {
            try FileManager.default.removeItem(atPath: path(name))
        } catch {
            throw CommandFailure.failed("cannot remove the superseded \(path(name)) (\(error.localizedDescription))")
        }
    }

    func writeLearningCurve(_ history: [EpochMetrics], title: String, markers: [LearningCurve.Marker] = []) throws {
        try AtomicFile.write(LearningCurve.svg(history, title: title, markers: markers), to: path("learning-curve.svg"), followingSymlinks: false)
    }

    func writeSummary(_ jsonLine: String) throws {
        try AtomicFile.write(jsonLine + "\n", to: path("summary.json"), followingSymlinks: false)
    }
}
