import COpenCL
import NNCore

/// Pinned host memory that lets an upload return before the device has the data.
///
/// A blocking `clEnqueueWriteBuffer` on an in-order queue waits for every command queued before it.
/// A training loop uploads each batch, so with blocking writes every step waits for the whole
/// previous one: the device idles while the host gathers the next batch and starts enqueuing its
/// kernels, and at small batches, where a step is mostly launches, that idle time is a large share
/// of the step. Instead, an upload copies the caller's values into one of a few staging slots and
/// enqueues a non-blocking write from there. The queue's order still puts the write after the
/// kernels before it and before the ones after it, so nothing else changes for the caller.
///
/// A slot is reused only once its write has completed (its event), which bounds how far the host
/// runs ahead: with four slots and two uploads a step (inputs and labels), about two steps. The
/// slots are buffers the driver allocates (`CL_MEM_ALLOC_HOST_PTR`) kept mapped, the pinned-memory
/// pattern of NVIDIA's OpenCL guide: a write from page-locked memory is a DMA that overlaps the
/// queue's kernels, where one from pageable memory is first copied by the driver.
///
/// Slots are mapped and unmapped on a queue of their own: a blocking map on the backend's queue
/// would wait for every kernel queued, which is what staging avoids.
///
/// Uploads larger than ``largestStagedBytes`` stay blocking: they are rare (a checkpoint's weights, a
/// whole data set) and dominated by their own copy, and staging them would keep that much host
/// memory per slot. Not thread-safe: the backend uses it under its lock.
final class UploadStaging {
    static let slotCount = 4
    /// 16 MiB: a batch of 4096 Fashion-MNIST images is 12.25 MiB.
    static let largestStagedBytes = 16 << 20

    private struct Slot {
        let memory: cl_mem
        let pointer: UnsafeMutableRawPointer
        let bytes: Int
        var pendingWrite: cl_event?
    }

    private let context: DeviceContext
    private let queue: cl_command_queue
    /// Created with the first slot; only maps and unmaps slots.
    private var mapQueue: cl_command_queue?
    private var slots: [Slot?] = Array(repeating: nil, count: UploadStaging.slotCount)
    private var nextSlot = 0

    init(context: DeviceContext, queue: cl_command_queue) {
        self.context = context
        self.queue = queue
    }

    /// Copies `source` into a staging slot and enqueues its non-blocking write to the start of
    /// `target`. Returns false, having done nothing, when `source` is too large to stage; the caller
    /// then writes it blocking.
    func enqueueWrite(_ source: UnsafeRawBufferPointer, to target: cl_mem) throws -> Bool {
        guard source.count <= Self.largestStagedBytes, let base = source.baseAddress else { return false }
        let index = nextSlot
        nextSlot = (nextSlot + 1) % Self.slotCount
        try waitForWrite(in: index)
        let held = slots[index]?.bytes ?? 0
        if held < source.count {
            try release(index)
            // At least 1 MiB and doubled (up to the limit), so that a few sizes settle without reallocating.
            slots[index] = try makeSlot(bytes: max(source.count, min(Self.largestStagedBytes, max(1 << 20, 2 * held))))
        }
        guard let pointer = slots[index]?.pointer else { return false }
        pointer.copyMemory(from: base, byteCount: source.count)
        var event: cl_event?
        try OpenCLStatus.check(clEnqueueWriteBuffer(queue, target, cl_bool(CL_FALSE), 0, source.count, pointer, 0, nil, &event),
                               "clEnqueueWriteBuffer (staged upload)")
        slots[index]?.pendingWrite = event
        return true
    }

    /// Waits for every staged write and releases the slots; the backend's queue must still exist.
    func releaseAll() {
        for index in slots.indices {
            try? waitForWrite(in: index)
            try? release(index)
        }
        if let mapQueue {
            clFinish(mapQueue)
            clReleaseCommandQueue(mapQueue)
            self.mapQueue = nil
        }
    }

    /// Waits for the slot's last write, and reports it if the driver failed it (an asynchronous
    /// write's error surfaces only in its event).
    private func waitForWrite(in index: Int) throws {
        guard let event = slots[index]?.pendingWrite else { return }
        slots[index]?.pendingWrite = nil
        defer { clReleaseEvent(event) }
        var pending: cl_event? = event
        try OpenCLStatus.check(clWaitForEvents(1, &pending), "clWaitForEvents (staged upload)")
        var status: cl_int = CL_COMPLETE
        try OpenCLStatus.check(
            clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), MemoryLayout<cl_int>.size, &status, nil),
            "clGetEventInfo (staged upload)")
        guard status >= 0 else {
            throw NNError.deviceFailure(call: "clEnqueueWriteBuffer (staged upload)", detail: OpenCLStatus.describe(status))
        }
    }

    /// The queue that maps slots, created the first time one is made.
    private func mappingQueue() throws -> cl_command_queue {
        if let mapQueue { return mapQueue }
        var status: cl_int = CL_SUCCESS
        guard let created = clCreateCommandQueue(context.context, context.device.device, 0, &status), status == CL_SUCCESS else {
            throw NNError.deviceFailure(call: "clCreateCommandQueue (upload staging)", detail: OpenCLStatus.describe(status))
        }
        mapQueue = created
        return created
    }

    private func makeSlot(bytes: Int) throws -> Slot {
        let mapQueue = try mappingQueue()
        var status: cl_int = CL_SUCCESS
        guard let memory = clCreateBuffer(context.context, cl_mem_flags(CL_MEM_ALLOC_HOST_PTR | CL_MEM_READ_ONLY), bytes, nil, &status),
              status == CL_SUCCESS else {
            throw NNError.deviceFailure(call: "clCreateBuffer(\(bytes) bytes, CL_MEM_ALLOC_HOST_PTR)", detail: OpenCLStatus.describe(status))
        }
        guard let pointer = clEnqueueMapBuffer(mapQueue, memory, cl_bool(CL_TRUE), cl_map_flags(CL_MAP_WRITE), 0, bytes, 0, nil, nil, &status),
              status == CL_SUCCESS else {
            clReleaseMemObject(memory)
            throw NNError.deviceFailure(call: "clEnqueueMapBuffer(\(bytes) bytes)", detail: OpenCLStatus.describe(status))
        }
        return Slot(memory: memory, pointer: pointer, bytes: bytes, pendingWrite: nil)
    }

    /// Unmaps and releases a slot whose write has completed.
    private func release(_ index: Int) throws {
        guard let slot = slots[index] else { return }
        slots[index] = nil
        defer { clReleaseMemObject(slot.memory) }
        guard let mapQueue else { return }
        try OpenCLStatus.check(clEnqueueUnmapMemObject(mapQueue, slot.memory, slot.pointer, 0, nil, nil), "clEnqueueUnmapMemObject")
    }
}
