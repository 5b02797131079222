import NNBackends
import NNCore

/// The backend for a command: `--backend` when given, else `NN_BACKEND`, else auto.
/// An `auto` fallback to native is explained on one stderr line by NNBackends.
enum BackendFactory {
    static func make(_ kind: BackendKind?) throws -> any Backend {
        try BackendSelection.make(kind)
    }
}
