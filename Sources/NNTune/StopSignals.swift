import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A request to stop a study: set from outside (a signal, a test), read by the runner's polling
/// loop, which then stops its workers, starts nothing new and returns.
public final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var signals: [Int32] = []

    /// A request not yet made.
    public init() {}

    /// Records a stop asked for by `signal` (SIGINT, SIGTERM); a second one makes the stop hurry.
    public func request(signal: Int32) {
        lock.withLock { signals.append(signal) }
    }

    /// The first signal that asked for a stop, or nil while none has.
    public var signal: Int32? { lock.withLock { signals.first } }

    /// True after a second request: workers are then killed without their grace period.
    public var isUrgent: Bool { lock.withLock { signals.count >= 2 } }
}

/// Turns SIGINT and SIGTERM into a ``StopRequest`` for the life of this object.
///
/// The signals are ignored at the process level and delivered to dispatch sources instead, so the
/// handlers run as ordinary code on a queue (nothing happens in signal context). Ignoring does not
/// reach the workers: Foundation's `Process` resets signal dispositions for the children it spawns,
/// and puts each in its own process group, so a Ctrl-C at the terminal reaches the tuner alone and
/// the tuner decides how its workers stop.
public final class StopSignals {
    /// Set when one of the signals arrives.
    public let request = StopRequest()
    private let sources: [DispatchSourceSignal]
    private let numbers: [Int32]

    /// Catches `numbers` (SIGINT and SIGTERM by default) and records them in ``request``.
    public init(_ numbers: [Int32] = [SIGINT, SIGTERM]) {
        self.numbers = numbers
        let request = self.request
        sources = numbers.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { request.request(signal: number) }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
        for number in numbers { signal(number, SIG_DFL) }
    }
}
