import COpenCL
import NNCore

/// Device memory behind an OpenCL `Tensor`: one `cl_mem` of Float32 values, released when the last
/// tensor viewing it goes away. OpenCL defers the actual release until queued commands that use the
/// buffer have finished, so dropping a tensor right after an asynchronous op is safe.
public final class OpenCLBuffer: TensorStorage, @unchecked Sendable {
    // Immutable after init; cl_mem handles are thread-safe to retain, release and pass to kernels.
    public let backendName = OpenCLBackend.backendName
    let memory: cl_mem
    /// Number of Float32 elements the buffer holds.
    let capacity: Int
    // Keeps the context alive for as long as any of its buffers.
    private let context: DeviceContext

    init(context: DeviceContext, capacity: Int) throws {
        var status: cl_int = CL_SUCCESS
        let device = context.device.info
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        // Checked here because drivers answer CL_INVALID_BUFFER_SIZE, or fail at first use, naming neither limit nor fix.
        guard !overflow, bytes >= 0, UInt64(bytes) <= device.maxAllocationBytes else {
            let floatsPerMiB = (1 << 20) / MemoryLayout<Float>.stride
            let mebibytes = capacity / floatsPerMiB + (capacity % floatsPerMiB == 0 ? 0 : 1)
            throw NNError.deviceFailure(
                call: "clCreateBuffer(\(capacity) floats)",
                detail: "a tensor of \(mebibytes) MiB exceeds the largest buffer \(device.name) allows, "
                    + "\(device.maxAllocationBytes >> 20) MiB (CL_DEVICE_MAX_MEM_ALLOC_SIZE). Use a smaller batch (--batch) or "
                    + "narrower layers, or the native backend (--backend native)")
        }
        guard let mem = clCreateBuffer(context.context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status),
              status == CL_SUCCESS else {
            throw NNError.deviceFailure(call: "clCreateBuffer(\(bytes) bytes)", detail: OpenCLStatus.describe(status))
        }
        self.memory = mem
        self.capacity = capacity
        self.context = context
    }

    deinit { clReleaseMemObject(memory) }
}
