import Foundation
import NNTune
#if canImport(Glibc)
import Glibc
#endif

/// The hyperparameter studies under a root: folders holding the `study.sqlite` that `nn tune` keeps
/// (by default `<root>/tune/<name>/`). Each is opened read-only, so a running tuner is never disturbed.
struct StudyCatalog: Sendable {
    static let databaseName = "study.sqlite"
    static let maximumDepth = 3

    let paths: SafePath

    /// Study ids (folder paths under the root), sorted.
    func studies() -> [String] {
        var found: [String] = []
        walk(paths.root, depth: 0, into: &found)
        return found.sorted()
    }

    /// The report of study `id`: its folder path under the root, or just its folder name when only
    /// one study has that name.
    func report(id: String) throws -> StudyReport? {
        let segments = id.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var folder = paths.resolve(segments)
        if folder.map(isStudy) != true {
            let matches = studies().filter { ($0 as NSString).lastPathComponent == id }
            folder = matches.count == 1 ? paths.resolve(matches[0].split(separator: "/").map(String.init)) : nil
        }
        guard let folder, isStudy(folder), let database = paths.resolve(paths.id(of: folder).split(separator: "/").map(String.init) + [Self.databaseName]) else {
            return nil
        }
        let store = try StudyStore(path: database, readOnly: true)
        return try StudyReport(name: (folder as NSString).lastPathComponent, store: store)
    }

    /// The id the pages link a study by.
    func canonicalID(of id: String) -> String? {
        if studies().contains(id) { return id }
        let matches = studies().filter { ($0 as NSString).lastPathComponent == id }
        return matches.count == 1 ? matches[0] : nil
    }

    private func isStudy(_ folder: String) -> Bool {
        var status = stat()
        let database = (folder as NSString).appendingPathComponent(Self.databaseName)
        return lstat(database, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
    }

    private func walk(_ folder: String, depth: Int, into found: inout [String]) {
        if isStudy(folder) {
            found.append(paths.id(of: folder))
            return
        }
        guard depth < Self.maximumDepth, !RunRecord.isRunFolder(folder),
              let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names.sorted() where !name.hasPrefix(".") {
            let child = (folder as NSString).appendingPathComponent(name)
            var status = stat()
            guard lstat(child, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else { continue }
            walk(child, depth: depth + 1, into: &found)
        }
    }
}
