import Foundation
import NNBackends
import NNCore
import NNOpenCL

/// The backend for a command: `--backend` when given, else `NN_BACKEND`, else auto.
/// An `auto` fallback to native is explained on one stderr line by NNBackends.
enum BackendFactory {
    /// - Parameter localRank: this process's index among the ranks on its host, under mpirun; with
    ///   several OpenCL GPUs each rank takes its own (``BackendSelection/environment(forLocalRank:devices:environment:)``).
    static func make(_ kind: BackendRequest?, localRank: Int? = nil) throws -> any Backend {
        var environment = ProcessInfo.processInfo.environment
        if let localRank, try (kind ?? BackendSelection.requestedKind(environment: environment)) != .native {
            // A machine without OpenCL has no devices to spread ranks over; the backend request below says why.
            let devices = (try? OpenCLBackend.availableDevices()) ?? []
            environment = BackendSelection.environment(forLocalRank: localRank, devices: devices, environment: environment)
        }
        return try BackendSelection.make(kind, environment: environment)
    }
}
