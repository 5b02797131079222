import COpenCL
import Foundation
import NNCore

/// The kind of an OpenCL device, as the driver reports it.
public enum OpenCLDeviceType: String, Sendable, CaseIterable {
    case gpu = "GPU"
    case cpu = "CPU"
    case accelerator = "accelerator"
    case other = "other"
}

/// One OpenCL device as `nn devices` lists it. `index` is the device's position in the flattened list of
/// every platform's devices, the number `NN_OPENCL_DEVICE` accepts.
public struct OpenCLDeviceInfo: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    public let platformName: String
    public let platformVersion: String
    public let name: String
    public let vendor: String
    public let type: OpenCLDeviceType
    public let driverVersion: String
    /// The device's OpenCL version string, e.g. "OpenCL 3.0 PoCL …".
    public let openCLVersion: String
    public let computeUnits: Int
    public let globalMemoryBytes: UInt64
    /// CL_DEVICE_MAX_MEM_ALLOC_SIZE: the largest single buffer, so the largest tensor (often a
    /// quarter of the global memory).
    public let maxAllocationBytes: UInt64
    public let localMemoryBytes: UInt64
    public let maxWorkGroupSize: Int
    /// CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT: 16 on AVX-512 CPUs, 8 on AVX2, often 1 on GPUs.
    public let preferredFloatVectorWidth: Int

    /// A device description from its parts: discovery fills it from the driver; tests build one to
    /// exercise device-dependent choices (the autotuner's pruning, say) without that device.
    /// `maxAllocationBytes` defaults to a quarter of the global memory, the least OpenCL allows.
    public init(index: Int, platformName: String, platformVersion: String, name: String, vendor: String,
                type: OpenCLDeviceType, driverVersion: String, openCLVersion: String, computeUnits: Int,
                globalMemoryBytes: UInt64, localMemoryBytes: UInt64, maxWorkGroupSize: Int, preferredFloatVectorWidth: Int,
                maxAllocationBytes: UInt64? = nil) {
        self.index = index
        self.platformName = platformName
        self.platformVersion = platformVersion
        self.name = name
        self.vendor = vendor
        self.type = type
        self.driverVersion = driverVersion
        self.openCLVersion = openCLVersion
        self.computeUnits = computeUnits
        self.globalMemoryBytes = globalMemoryBytes
        self.maxAllocationBytes = maxAllocationBytes ?? globalMemoryBytes / 4
        self.localMemoryBytes = localMemoryBytes
        self.maxWorkGroupSize = maxWorkGroupSize
        self.preferredFloatVectorWidth = preferredFloatVectorWidth
    }

    public var description: String {
        let mib = globalMemoryBytes / (1 << 20)
        return "[\(index)] \(name) (\(type.rawValue), \(vendor)) on \(platformName): driver \(driverVersion), "
            + "\(computeUnits) compute units, \(mib) MiB global memory"
    }
}

/// A device found on this machine, with the handles needed to open it.
struct DiscoveredDevice: @unchecked Sendable {
    // cl_platform_id and cl_device_id are opaque, immutable handles valid for the whole process.
    let info: OpenCLDeviceInfo
    let platform: cl_platform_id
    let device: cl_device_id
}

/// Platform and device enumeration, and the `NN_OPENCL_DEVICE` selection rule.
enum DeviceDiscovery {
    static let environmentVariable = "NN_OPENCL_DEVICE"

    static let installHint = "install an OpenCL driver (ICD): pocl-opencl-icd for the CPU, or your GPU vendor's "
        + "OpenCL driver; `clinfo -l` must list at least one device"

    /// Every device of every platform, in platform order. Throws `backendUnavailable` when there is none.
    static func discover() throws -> [DiscoveredDevice] {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        // The ICD loader reports "no platform" as CL_PLATFORM_NOT_FOUND_KHR rather than a zero count.
        if status == -1001 || (status == CL_SUCCESS && platformCount == 0) {
            throw NNError.backendUnavailable(backend: "opencl", reason: "no OpenCL platform found; \(installHint)")
        }
        guard status == CL_SUCCESS else {
            throw NNError.backendUnavailable(
                backend: "opencl", reason: "clGetPlatformIDs failed with \(OpenCLStatus.describe(status)); \(installHint)")
        }
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try OpenCLStatus.check(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

        var found: [DiscoveredDevice] = []
        for case let platform? in platforms {
            var deviceCount: cl_uint = 0
            let st = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if st == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
            try OpenCLStatus.check(st, "clGetDeviceIDs")
            var devices = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try OpenCLStatus.check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &devices, nil),
                                   "clGetDeviceIDs")
            let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            let platformVersion = try platformString(platform, cl_platform_info(CL_PLATFORM_VERSION))
            for case let device? in devices {
                let info = try describe(device, index: found.count, platformName: platformName, platformVersion: platformVersion)
                found.append(DiscoveredDevice(info: info, platform: platform, device: device))
            }
        }
        if found.isEmpty {
            throw NNError.backendUnavailable(
                backend: "opencl", reason: "\(platforms.count) OpenCL platform(s) but no device; \(installHint)")
        }
        return found
    }

    /// Picks the device `selector` names: a flattened index, or a case-insensitive substring of the device
    /// name (or vendor or platform). With no selector, the first GPU, else the first device.
    static func select(_ selector: String?, from devices: [DiscoveredDevice]) throws -> DiscoveredDevice {
        let choices = devices.map { "  \($0.info)" }.joined(separator: "\n")
        guard let raw = selector?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else {
            return devices.first(where: { $0.info.type == .gpu }) ?? devices[0]
        }
        if let index = Int(raw) {
            guard devices.indices.contains(index) else {
                throw NNError.backendUnavailable(
                    backend: "opencl",
                    reason: "\(environmentVariable)=\(raw) is not a device index; choose 0…\(devices.count - 1):\n\(choices)")
            }
            return devices[index]
        }
        let needle = raw.lowercased()
        let matches = { (d: DiscoveredDevice) -> Bool in
            d.info.name.lowercased().contains(needle) || d.info.vendor.lowercased().contains(needle)
                || d.info.platformName.lowercased().contains(needle)
        }
        guard let match = devices.first(where: matches) else {
            throw NNError.backendUnavailable(
                backend: "opencl",
                reason: "no OpenCL device matches \(environmentVariable)=\"\(raw)\"; give an index or part of a name:\n\(choices)")
        }
        return match
    }

    private static func describe(_ device: cl_device_id, index: Int, platformName: String,
                                 platformVersion: String) throws -> OpenCLDeviceInfo {
        let rawType: cl_device_type = try deviceValue(device, cl_device_info(CL_DEVICE_TYPE))
        let type: OpenCLDeviceType
        if rawType & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { type = .gpu }
        else if rawType & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { type = .cpu }
        else if rawType & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { type = .accelerator }
        else { type = .other }
        let units: cl_uint = try deviceValue(device, cl_device_info(CL_DEVICE_MAX_COMPUTE_UNITS))
        let globalMemory: cl_ulong = try deviceValue(device, cl_device_info(CL_DEVICE_GLOBAL_MEM_SIZE))
        let maxAllocation: cl_ulong = try deviceValue(device, cl_device_info(CL_DEVICE_MAX_MEM_ALLOC_SIZE))
        let localMemory: cl_ulong = try deviceValue(device, cl_device_info(CL_DEVICE_LOCAL_MEM_SIZE))
        let maxGroup: Int = try deviceValue(device, cl_device_info(CL_DEVICE_MAX_WORK_GROUP_SIZE))
        let vectorWidth: cl_uint = try deviceValue(device, cl_device_info(CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT))
        return OpenCLDeviceInfo(
            index: index, platformName: platformName, platformVersion: platformVersion,
            name: try deviceString(device, cl_device_info(CL_DEVICE_NAME)),
            vendor: try deviceString(device, cl_device_info(CL_DEVICE_VENDOR)),
            type: type,
            driverVersion: try deviceString(device, cl_device_info(CL_DRIVER_VERSION)),
            openCLVersion: try deviceString(device, cl_device_info(CL_DEVICE_VERSION)),
            computeUnits: Int(units), globalMemoryBytes: UInt64(globalMemory), localMemoryBytes: UInt64(localMemory),
            maxWorkGroupSize: maxGroup, preferredFloatVectorWidth: Int(vectorWidth), maxAllocationBytes: UInt64(maxAllocation))
    }

    static func deviceValue<T: FixedWidthInteger>(_ device: cl_device_id, _ param: cl_device_info) throws -> T {
        var value: T = 0
        try OpenCLStatus.check(clGetDeviceInfo(device, param, MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo")
        return value
    }

    static func deviceString(_ device: cl_device_id, _ param: cl_device_info) throws -> String {
        var size = 0
        try OpenCLStatus.check(clGetDeviceInfo(device, param, 0, nil, &size), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        try OpenCLStatus.check(clGetDeviceInfo(device, param, size, &bytes, nil), "clGetDeviceInfo")
        return cString(bytes)
    }

    static func platformString(_ platform: cl_platform_id, _ param: cl_platform_info) throws -> String {
        var size = 0
        try OpenCLStatus.check(clGetPlatformInfo(platform, param, 0, nil, &size), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        try OpenCLStatus.check(clGetPlatformInfo(platform, param, size, &bytes, nil), "clGetPlatformInfo")
        return cString(bytes)
    }

    static func cString(_ bytes: [CChar]) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
    }
}
