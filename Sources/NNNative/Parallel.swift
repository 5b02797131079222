import Dispatch

/// A pointer that may cross into worker closures. Every use splits the work so that no two
/// workers write the same element, and `concurrentPerform` joins them before the op returns.
struct SendablePointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

/// A split of `0..<count` into consecutive parts, one per task, whose bounds are multiples of
/// `granularity` except the last. Computed on demand, so splitting allocates nothing.
struct Partition: Sendable {
    let count: Int
    let tasks: Int
    let granularity: Int

    /// The part task `t` covers; the parts cover `0..<count` exactly once.
    @inline(__always)
    func range(_ t: Int) -> Range<Int> {
        let units = (count + granularity - 1) / granularity
        return min(count, units * t / tasks * granularity)..<min(count, units * (t + 1) / tasks * granularity)
    }
}

/// Splits index ranges over the backend's threads, only when the work is large enough to pay for
/// waking them (a `concurrentPerform` round trip costs a few microseconds).
struct WorkSplitter: Sendable {
    let threads: Int

    /// Below this many "element operations" an op runs on the calling thread.
    static let minimumParallelWork = 1 << 16

    /// `0..<count` in one part per thread when the work (`count × costPerItem` element operations)
    /// is large enough to pay, else in one part.
    func partition(_ count: Int, costPerItem: Int = 1, granularity: Int = 1) -> Partition {
        let units = (count + granularity - 1) / granularity
        let work = count.multipliedReportingOverflow(by: max(costPerItem, 1))
        let large = work.overflow || work.partialValue >= Self.minimumParallelWork
        return Partition(count: count, tasks: max(1, large ? min(threads, units) : 1), granularity: granularity)
    }

    /// Runs `body` over the parts of ``partition(_:costPerItem:granularity:)`` in parallel.
    func forEachRange(_ count: Int, costPerItem: Int = 1, granularity: Int = 1,
                      _ body: (Range<Int>) -> Void) {
        let parts = partition(count, costPerItem: costPerItem, granularity: granularity)
        run(tasks: parts.tasks) { t in body(parts.range(t)) }
    }

    /// Runs `body(task)` for `0..<tasks` on up to `threads` threads.
    func run(tasks: Int, _ body: (Int) -> Void) {
        if tasks <= 1 || threads <= 1 {
            for t in 0..<tasks { body(t) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: tasks) { t in box.value(t) }
        }
    }
}

/// Carries a non-Sendable closure into `concurrentPerform`; see ``SendablePointer``.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Scratch memory kept between ops, so that a training step allocates nothing: GEMM packing
/// buffers (one slot per thread) and per-thread reduction partials. Slots only grow.
///
/// Slots are handed out before worker threads start, and one backend instance runs one op at a
/// time, so no slot is ever in use by two ops; workers only read the pointers they were given.
final class Scratch: @unchecked Sendable {
    private var slots: [UnsafeMutableRawPointer?]
    private var capacities: [Int]

    init(slots count: Int) {
        slots = Array(repeating: nil, count: count)
        capacities = Array(repeating: 0, count: count)
    }

    deinit {
        for slot in slots { slot?.deallocate() }
    }

    /// Slot `index`, holding at least `bytes` bytes, 64-byte aligned. Contents are unspecified.
    func slot(_ index: Int, bytes: Int) -> UnsafeMutableRawPointer {
        if capacities[index] < bytes || slots[index] == nil {
            slots[index]?.deallocate()
            // Round up so that slowly growing requests do not reallocate every time.
            let size = max(bytes, 4096).roundedUpToPowerOfTwo
            slots[index] = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            capacities[index] = size
        }
        // Non-nil: allocated just above when missing.
        return slots[index].unsafelyUnwrapped
    }

    /// `count` elements of `T` in slot `index`.
    func buffer<T>(_ index: Int, _: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        slot(index, bytes: max(count, 1) * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: max(count, 1))
    }
}

private extension Int {
    var roundedUpToPowerOfTwo: Int {
        self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount)
    }
}
