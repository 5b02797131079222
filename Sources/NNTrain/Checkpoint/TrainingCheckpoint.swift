import Foundation
import NNCore

/// The training half of a checkpoint: `training-state.safetensors` beside `model.safetensors`.
///
/// Tensors are the trainer's run state (optimiser moments named "optimizer.0.weight.m", …, and with
/// early stopping the best weights "best.0.weight", …); metadata holds the scalar ``TrainingState``
/// (epoch, steps, schedule, shuffle RNG, dropout Philox offset, early-stopping bookkeeping) and the
/// ``TrainingConfig`` as JSON. Kept out of `model.safetensors` so that PyTorch's strict
/// `load_state_dict` sees only module parameters and buffers.
public enum TrainingCheckpoint {
    /// Metadata keys of `training-state.safetensors`.
    public enum Key {
        /// Metadata key of the format name.
        public static let format = "format"
        /// Metadata key of the ``TrainingState`` JSON.
        public static let trainingState = "training_state"
        /// Metadata key of the ``TrainingConfig`` JSON.
        public static let trainingConfig = "training_config"
    }

    /// The format name written under ``Key/format``.
    public static let formatName = "swiftnn.training-state"

    /// Writes `trainer`'s run state to `directory/training-state.safetensors`; save the network
    /// with ``ModelCheckpoint/save(_:toDirectory:metadata:)`` beside it.
    public static func save(trainer: Trainer, toDirectory directory: String) throws {
        try ModelCheckpoint.createDirectory(directory)
        let path = (directory as NSString).appendingPathComponent(ModelCheckpoint.trainingStateFileName)
        let metadata = [
            Key.format: formatName,
            Key.trainingState: try ModelCheckpoint.json(trainer.state),
            Key.trainingConfig: try ModelCheckpoint.json(trainer.config),
        ]
        let tensors = try trainer.stateTensors()
        try NamedTensor.checkFinite(tensors, saving: "the training state")
        try SafeTensors.write(tensors, metadata: metadata, to: path)
    }

    /// Reads the state and tensors saved by ``save(trainer:toDirectory:)``.
    public static func read(directory: String) throws -> (state: TrainingState, config: TrainingConfig?, tensors: [NamedTensor]) {
        let path = (directory as NSString).appendingPathComponent(ModelCheckpoint.trainingStateFileName)
        let contents = try SafeTensors.read(path: path)
        guard contents.metadata[Key.format] == formatName, let stateJSON = contents.metadata[Key.trainingState] else {
            throw NNError.invalidData(source: path, detail: "is not an nn training state (no '\(Key.trainingState)' metadata)")
        }
        let state: TrainingState
        do {
            state = try JSONDecoder().decode(TrainingState.self, from: Data(stateJSON.utf8))
        } catch {
            throw NNError.invalidData(source: path, detail: "the training state metadata is corrupt (\(error))")
        }
        try state.validate(source: path)
        let config = contents.metadata[Key.trainingConfig].flatMap { try? JSONDecoder().decode(TrainingConfig.self, from: Data($0.utf8)) }
        return (state, config, contents.tensors)
    }

    /// Restores a run saved in `directory` into `trainer` (whose network was built from the same
    /// checkpoint's model file), so that `fit` continues it.
    public static func restore(_ trainer: Trainer, fromDirectory directory: String) throws {
        let saved = try read(directory: directory)
        try trainer.restore(state: saved.state, tensors: saved.tensors)
    }
}
