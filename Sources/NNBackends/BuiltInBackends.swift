import Foundation
import NNCore
import NNNative
import NNOpenCL

/// The registrations of the backends built into SwiftNN, in the order `auto` tries them.
enum BuiltInBackends {
    static let registrations = [opencl, native]

    static let opencl = BackendRegistration(
        name: "opencl",
        summary: "OpenCL on a GPU or CPU device (PoCL on a CPU-only machine); NN_OPENCL_DEVICE picks the device",
        displayName: "OpenCL",
        isAccelerator: true,
        factory: { environment in try BackendSelection.makeOpenCL(environment: environment) },
        probe: { environment in
            Result { try BackendRegistration.smokeTest(try BackendSelection.makeOpenCL(environment: environment)) }
        },
        devices: { _ in
            try OpenCLBackend.availableDevices().map { device in
                BackendTarget(label: "opencl [\(device.index)] \(device.name)\(kernelShapes(of: device).map { ", \($0) kernel shapes" } ?? "")") {
                    try OpenCLBackend(deviceSelector: String(device.index))
                }
            }
        },
        report: { _ in
            let devices: [OpenCLDeviceInfo]
            do {
                devices = try OpenCLBackend.availableDevices()
            } catch {
                return ["no devices: \(error)"]
            }
            var lines = ["devices (select with \(BackendSelection.openCLDeviceVariable)=<index or part of a name>):"]
            for d in devices {
                lines.append("[\(d.index)] \(d.name)")
                lines.append("    type \(d.type.rawValue), vendor \(d.vendor), platform \(d.platformName)")
                lines.append("    driver \(d.driverVersion), \(d.openCLVersion)")
                lines.append("    \(d.computeUnits) compute units, \(d.globalMemoryBytes / (1 << 20)) MiB global memory "
                             + "(buffers up to \(d.maxAllocationBytes / (1 << 20)) MiB), "
                             + "\(d.localMemoryBytes / 1024) KiB local memory, work-groups up to \(d.maxWorkGroupSize)")
                let variable = MemoryKernelFamily.environmentVariable
                let shapes = kernelShapes(of: d).map { "\($0) shapes" } ?? "\(variable) has an invalid value"
                lines.append("    memory-bound kernels: \(shapes) (\(variable)=gpu|cpu|auto overrides)")
            }
            return lines
        })

    /// "GPU" or "CPU": the memory-bound kernel shapes an OpenCL backend on `device` would use, shown by
    /// `nn devices` and in `nn devices --check`'s labels so a check says which kernels it verified;
    /// nil when `NN_OPENCL_KERNEL_SHAPES` is invalid (opening the backend then fails with the reason).
    private static func kernelShapes(of device: OpenCLDeviceInfo) -> String? {
        let setting = ProcessInfo.processInfo.environment[MemoryKernelFamily.environmentVariable]
        return (try? MemoryKernelFamily.resolve(setting, for: device))?.shapeName
    }

    static let native = BackendRegistration(
        name: "native",
        summary: "Swift loops on the CPU, SIMD-vectorised and threaded (NN_NATIVE_THREADS); always available",
        factory: { _ in NativeBackend(precision: .float32) },
        probe: { _ in .success(NativeBackend(precision: .float32)) },
        // float64 exists for gradient checks, which trust it as the reference, so it is verified too.
        devices: { _ in [
            BackendTarget(label: "native") { NativeBackend(precision: .float32) },
            BackendTarget(label: "native-float64") { NativeBackend(precision: .float64) },
        ] },
        report: { _ in [NativeBackend(precision: .float32).deviceDescription] })
}
