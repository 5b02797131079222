import Foundation
import NNCore
import NNTrain

/// The files a training run leaves in its `--out` folder.
///
///     metrics.jsonl            one JSON object per epoch, appended and flushed as each epoch ends
///     learning-curve.svg       train/dev loss and accuracy per epoch, redrawn every epoch
///     epoch-003/               checkpoint after epoch 3: model.safetensors + training-state.safetensors
///     best/                    the checkpoint of the best dev epoch so far
///     summary.json             the final JSON line of the run
///
/// Every file is replaced atomically, so a run killed at any moment leaves only complete files behind.
final class RunOutput {
    let directory: String
    private var metricsLines: [String] = []

    init(directory: String) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure.failed("cannot create the output folder \(directory) (\(error.localizedDescription)); choose another --out")
        }
        // A new run starts a new metrics file; stale lines of an earlier run would mislead readers.
        try AtomicFile.write("", to: path("metrics.jsonl"))
    }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    func recordEpoch(_ m: EpochMetrics) throws {
        var line = JSONLine()
        line.add("epoch", m.epoch)
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
        try AtomicFile.write(metricsLines.joined(separator: "\n") + "\n", to: path("metrics.jsonl"))
    }

    /// Writes `name/model.safetensors` and `name/training-state.safetensors`.
    func saveCheckpoint(network: Network, trainer: Trainer, name: String, metadata: [String: String]) throws {
        let folder = path(name)
        try ModelCheckpoint.save(network, toDirectory: folder, metadata: metadata)
        try TrainingCheckpoint.save(trainer: trainer, toDirectory: folder)
    }

    func writeLearningCurve(_ history: [EpochMetrics], title: String) throws {
        try AtomicFile.write(LearningCurve.svg(history, title: title), to: path("learning-curve.svg"))
    }

    func writeSummary(_ jsonLine: String) throws {
        try AtomicFile.write(jsonLine + "\n", to: path("summary.json"))
    }
}
