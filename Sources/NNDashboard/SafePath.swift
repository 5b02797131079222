import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Maps a request's path segments to a file or folder inside a root, refusing anything that could
/// reach outside it: `.` and `..` segments, empty segments, separators or NUL bytes hidden in a
/// percent-encoded segment, and any symbolic link on the way (a link inside the root may point
/// anywhere, so none is followed). The dashboard reads nothing that this has not approved.
struct SafePath: Sendable {
    /// The root, as the absolute path with its own links resolved (the root itself may be a link).
    let root: String

    init(root: String) {
        let absolute = URL(fileURLWithPath: root).standardizedFileURL.path
        self.root = (absolute as NSString).resolvingSymlinksInPath
    }

    /// The path of `segments` (already percent-decoded, one folder name each) under the root, or
    /// nil when any segment is unsafe or any step of the path is a symbolic link.
    func resolve(_ segments: [String]) -> String? {
        var path = root
        for segment in segments {
            guard Self.isPlainName(segment) else { return nil }
            path = (path as NSString).appendingPathComponent(segment)
            var status = stat()
            // lstat, not stat: a link is refused rather than followed. A missing step is no file.
            guard lstat(path, &status) == 0, status.st_mode & S_IFMT != S_IFLNK else { return nil }
        }
        return path
    }

    /// A name that stays in its folder: no separators, no dot names, no control characters.
    static func isPlainName(_ segment: String) -> Bool {
        !segment.isEmpty && segment != "." && segment != ".." && segment.count <= 255
            && !segment.contains("/") && !segment.unicodeScalars.contains { $0.value < 0x20 || $0 == "\\" }
    }

    /// Whether `path` is a regular file itself, not a link to one: files are read only when it is.
    static func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
    }

    /// `a/b` for a path under the root: the id the pages use for it.
    func id(of path: String) -> String {
        guard path.hasPrefix(root) else { return path }
        return String(path.dropFirst(root.count).drop { $0 == "/" })
    }
}
