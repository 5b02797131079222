#if canImport(Glibc)
import Glibc
#endif
#if canImport(CLinux)
import CLinux
#endif
import Foundation
import NNCore

/// Directory writes that are atomic: a checkpoint folder is filled under a temporary name and then
/// takes its real name in one step, so `best/` or `epoch-003/` is always one complete checkpoint
/// from one step, whatever moment the process is killed at.
///
/// A folder that already exists is swapped with the new one by `renameat2(RENAME_EXCHANGE)` and
/// the old contents removed afterwards. Where the file system cannot exchange (a few network file
/// systems), the old folder is renamed aside first, which leaves a moment with no folder at that
/// name; ``removeLeftovers(in:)`` then restores the complete new one on the next start.
///
/// Temporary names start with a dot and carry `.tmp-`, like ``AtomicFile``'s, so readers that list
/// a run folder skip them and ``removeLeftovers(in:)`` finds them.
public enum AtomicDirectory {
    /// Fills a fresh temporary folder beside `path` with `fill`, syncs it, and puts it at `path`.
    /// On any error the temporary folder is removed and `path` is left as it was.
    public static func write(to path: String, fill: (_ temporaryPath: String) throws -> Void) throws {
        let parent = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let fm = FileManager.default
        try fm.createDirectory(atPath: parent.isEmpty ? "." : parent, withIntermediateDirectories: true)
        let temporary = (parent as NSString).appendingPathComponent(AtomicFile.temporaryName(for: name))
        do {
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        } catch {
            throw NNError.invalidData(source: temporary, detail: "cannot create the folder (\(error.localizedDescription)); check --out is writable")
        }
        var placed = false
        defer { if !placed { try? fm.removeItem(atPath: temporary) } }
        try fill(temporary)
        syncDirectory(temporary)
        if fm.fileExists(atPath: path) {
            if exchange(temporary, path) {
                placed = true
                try? fm.removeItem(atPath: temporary)  // now the old folder; a leftover if this is cut short
            } else {
                let aside = (parent as NSString).appendingPathComponent(AtomicFile.temporaryName(for: name))
                try move(path, to: aside)
                try move(temporary, to: path)
                placed = true
                try? fm.removeItem(atPath: aside)
            }
        } else {
            try move(temporary, to: path)
            placed = true
        }
        syncDirectory(parent.isEmpty ? "." : parent)
    }

    /// Removes what a killed write left in `directory` (temporary files and folders; not in its
    /// subfolders), and puts back a complete checkpoint folder that a write without exchange left
    /// under its temporary name. Call only while holding the folder's lock.
    ///
    /// - Returns: the paths removed, for a log line.
    @discardableResult
    public static func removeLeftovers(in directory: String) -> [String] {
        let fm = FileManager.default
        var removed: [String] = []
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        for name in names.sorted() {
            guard let original = AtomicFile.originalName(ofTemporary: name) else { continue }
            let path = (directory as NSString).appendingPathComponent(name)
            let destination = (directory as NSString).appendingPathComponent(original)
            var isDirectory: ObjCBool = false
            if !fm.fileExists(atPath: destination), fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
               isCompleteCheckpoint(path), rename(path, destination) == 0 {
                continue
            }
            if (try? fm.removeItem(atPath: path)) != nil { removed.append(path) }
        }
        return removed
    }

    /// A folder holding both checkpoint files, each a parseable safetensors file.
    private static func isCompleteCheckpoint(_ path: String) -> Bool {
        [ModelCheckpoint.modelFileName, ModelCheckpoint.trainingStateFileName].allSatisfy {
            (try? SafeTensors.read(path: (path as NSString).appendingPathComponent($0))) != nil
        }
    }

    private static func exchange(_ a: String, _ b: String) -> Bool {
        #if canImport(CLinux)
        return nn_exchange_paths(a, b) == 0
        #else
        return false
        #endif
    }

    private static func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else {
            let reason = String(cString: strerror(errno))
            throw NNError.invalidData(source: to, detail: "cannot rename \(from) to it (\(reason)); check the folder is writable")
        }
    }

    /// fsync of a directory, so the names in it survive a crash; best effort, as some file systems refuse it.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
