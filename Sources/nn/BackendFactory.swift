import Foundation
import NNBackends
import NNCore
import NNOpenCL

/// The backend for a command: `--backend` when given, else `NN_BACKEND`, else auto.
/// An `auto` fallback to native is explained on one stderr line by NNBackends.
enum BackendFactory {
    /// - Parameter localRank: this process's index among the ranks on its host, under mpirun. When
    ///   the host has several OpenCL devices and `NN_OPENCL_DEVICE` is unset, rank k takes device
    ///   k mod (device count), so ranks do not share one device.
    static func make(_ kind: BackendKind?, localRank: Int? = nil) throws -> any Backend {
        var environment = ProcessInfo.processInfo.environment
        if let localRank, environment[BackendSelection.openCLDeviceVariable] == nil,
           try (kind ?? BackendSelection.requestedKind(environment: environment)) != .native,
           let devices = try? OpenCLBackend.availableDevices(), devices.count > 1 {
            environment[BackendSelection.openCLDeviceVariable] = String(localRank % devices.count)
        }
        return try BackendSelection.make(kind, environment: environment)
    }
}
