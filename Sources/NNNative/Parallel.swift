import Dispatch

/// A pointer that may cross into worker closures. Every use splits the work so that no two
/// workers write the same element, and `concurrentPerform` joins them before the op returns.
struct SendablePointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

/// Splits index ranges over the backend's threads, only when the work is large enough to pay for
/// waking them (a `concurrentPerform` round trip costs a few microseconds).
struct WorkSplitter: Sendable {
    let threads: Int

    /// Below this many "element operations" an op runs on the calling thread.
    static let minimumParallelWork = 1 << 16

    /// Consecutive sub-ranges of `0..<count` covering it exactly once: one per thread when the work
    /// (`count × costPerItem` element operations) is large enough to pay, else the whole range.
    /// Range bounds are multiples of `granularity` except the last.
    func ranges(_ count: Int, costPerItem: Int = 1, granularity: Int = 1) -> [Range<Int>] {
        let units = (count + granularity - 1) / granularity
        let work = count.multipliedReportingOverflow(by: max(costPerItem, 1))
        let large = work.overflow || work.partialValue >= Self.minimumParallelWork
        let tasks = large ? min(threads, units) : 1
        if tasks <= 1 { return [0..<count] }
        return (0..<tasks).map { t in
            min(count, units * t / tasks * granularity)..<min(count, units * (t + 1) / tasks * granularity)
        }
    }

    /// Runs `body` over ``ranges(_:costPerItem:granularity:)`` in parallel.
    func forEachRange(_ count: Int, costPerItem: Int = 1, granularity: Int = 1,
                      _ body: (Range<Int>) -> Void) {
        let parts = ranges(count, costPerItem: costPerItem, granularity: granularity)
        run(tasks: parts.count) { t in body(parts[t]) }
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
