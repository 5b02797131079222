import NNCore
import NNNative

/// What a run executed on, recorded in every checkpoint's metadata, so that `--resume` can say
/// whether the continued run is still bit for bit the run it would have been without the stop.
///
/// Another backend, device, precision or GEMM kernel changes the rounding of every step: the run
/// continues (that is often the point of moving it) but is no longer reproducible bit for bit.
/// The native thread count and GEMM tile do not change results (reductions add fixed row blocks in
/// order; every tile sums products in one order), so changing `NN_NATIVE_THREADS` keeps a run exact.
struct ExecutionRecord: Equatable {
    static let deviceKey = "device"
    static let arithmeticKey = "arithmetic"

    /// As `nn devices` and the run's first lines print it ("CPU, 2 threads, float32, …").
    let device: String
    /// The part of the device that decides the bits.
    let arithmetic: String

    init(_ backend: any Backend) {
        device = "\(backend.name): \(backend.deviceDescription)"
        if let native = backend as? NativeBackend {
            arithmetic = "\(backend.name): \(native.arithmeticDescription)"
        } else {
            arithmetic = device
        }
    }

    /// The record a checkpoint holds; nil for checkpoints of an nn that did not record it.
    init?(metadata: [String: String]) {
        guard let device = metadata[Self.deviceKey], let arithmetic = metadata[Self.arithmeticKey] else { return nil }
        self.device = device
        self.arithmetic = arithmetic
    }

    var metadata: [String: String] { [Self.deviceKey: device, Self.arithmeticKey: arithmetic] }

    /// Whether continuing a run saved on `saved` here reproduces it exactly, and a line saying so
    /// when something changed (nil when nothing did).
    func continuation(from saved: ExecutionRecord?) -> (bitForBit: Bool, note: String?) {
        guard let saved else {
            return (false, "the checkpoint does not record the device it was trained on, so the continued run may differ in the last bits")
        }
        if saved.arithmetic != arithmetic {
            return (false, "the run was trained on \(saved.device) and continues on \(device): it goes on, "
                + "but no longer bit for bit as it would have on the original device")
        }
        if saved.device != device {
            return (true, "the run was trained on \(saved.device) and continues on \(device); results do not depend on the thread count or GEMM tile, so it stays bit for bit")
        }
        return (true, nil)
    }
}
