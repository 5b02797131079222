import CLinux
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Wakes a tuner's polling loop as soon as a running trial writes into its output folder (Linux
/// inotify), instead of at the end of the poll interval. A trial whose epoch figures prune it is then
/// stopped within milliseconds of writing them, not up to a poll interval into its next epoch.
///
/// Waiting falls back to plain sleeping where inotify cannot be had (no descriptor, no watches left):
/// the loop then behaves exactly as it did without this.
final class OutputWatch {
    private let descriptor: Int32
    /// Watch descriptors by folder path.
    private var watches: [String: Int32] = [:]

    init() {
        descriptor = nn_inotify_open()
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Watches exactly `folders`: new ones are added, the others dropped.
    func watch(_ folders: [String]) {
        guard descriptor >= 0 else { return }
        let wanted = Set(folders)
        for (folder, watch) in watches where !wanted.contains(folder) {
            // Fails harmlessly for a folder already removed: the kernel dropped its watch then.
            inotify_rm_watch(descriptor, watch)
            watches[folder] = nil
        }
        for folder in wanted where watches[folder] == nil {
            let watch = nn_inotify_watch_writes(descriptor, folder)
            if watch >= 0 { watches[folder] = watch }
        }
    }

    /// The shortest wait: a worker that writes into its folder without pause (a chatty log) must not
    /// turn the loop, and its queries to the study's store, into a spin.
    static let minimumWait: TimeInterval = 0.01

    /// Returns after `seconds`, or as soon as a watched folder has changed (after ``minimumWait`` when
    /// it changed since the last wait).
    func wait(upTo seconds: TimeInterval) {
        guard descriptor >= 0, !watches.isEmpty else { return Thread.sleep(forTimeInterval: seconds) }
        let start = Date()
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&request, 1, Int32((max(0, min(seconds, 3600)) * 1000).rounded(.up)))
        // The events themselves do not matter, only that something was written: discard them.
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(descriptor, &buffer, buffer.count) > 0 {}
        let waited = Date().timeIntervalSince(start)
        if waited < Self.minimumWait { Thread.sleep(forTimeInterval: min(seconds, Self.minimumWait) - waited) }
    }
}
