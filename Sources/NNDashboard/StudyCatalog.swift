import Foundation
import NNTune
#if canImport(Glibc)
import Glibc
#endif

/// The hyperparameter studies the dashboard shows: folders under a root holding the `study.sqlite`
/// that `nn tune` keeps (by default `<root>/tune/<name>/`), and, with `nn dashboard --storage`, the
/// studies of a PostgreSQL database that workers on many machines share. Every study is opened
/// read-only, so a running tuner is never disturbed.
struct StudyCatalog: Sendable {
    static let databaseName = "study.sqlite"
    static let maximumDepth = 3
    /// The id of a study in the shared store is this prefix and its name. It takes precedence over a
    /// folder of that name under the root (a `:` in a folder name being improbable).
    static let sharedPrefix = "postgresql:"

    let paths: SafePath
    /// The PostgreSQL store whose studies are listed after the folders' (nil: folders only).
    let shared: StudyStorage?

    init(paths: SafePath, shared: StudyStorage? = nil) {
        self.paths = paths
        self.shared = shared
    }

    /// Every study with its report, or why it cannot be read; and why the shared store could not be
    /// listed when it could not (the folders' studies are listed regardless).
    struct Listing {
        var studies: [(id: String, report: Result<StudyReport, Error>)]
        var sharedProblem: String?
    }

    /// Folder studies (by path under the root), sorted, then `postgresql:NAME` for each shared study,
    /// all read over one connection, without their per-epoch records (a listing shows none). The shared store is asked afresh on every call, so new studies
    /// appear and a server that went away shows as a problem rather than a stale list.
    func studies() -> Listing {
        var listing = Listing(studies: folderStudies().compactMap { id in
            switch Result(catching: { try report(id: id, epochs: false) }) {
            case let .success(report?): return (id, .success(report))
            case .success(nil): return nil   // removed since the walk
            case let .failure(error): return (id, .failure(error))
            }
        })
        if let shared {
            do {
                listing.studies += try shared.studyListing().map { (Self.sharedPrefix + $0.name, $0.report) }
            } catch {
                listing.sharedProblem = "the studies in \(shared) cannot be listed: \(error)"
            }
        }
        return listing
    }

    /// Study ids of the folders under the root, sorted.
    func folderStudies() -> [String] {
        var found: [String] = []
        walk(paths.root, depth: 0, into: &found)
        return found.sorted()
    }

    /// The report of study `id` (nil when there is no such study): a shared study's id, a folder path
    /// under the root, or just a folder's name when only one study has that name. `epochs`: see
    /// ``StudyReport/init(name:store:epochs:)``.
    func report(id: String, epochs: Bool = true) throws -> StudyReport? {
        if let name = sharedName(id) {
            guard let shared, let location = try? StudyLocation(root: URL(fileURLWithPath: paths.root), name: name) else { return nil }
            let store: StudyStore
            do {
                store = try shared.open(location, create: false, readOnly: true)
            } catch TuneError.unknownStudy {
                return nil
            }
            return try StudyReport(name: name, store: store, epochs: epochs)
        }
        let segments = id.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var folder = paths.resolve(segments)
        if folder.map(isStudy) != true {
            let matches = folderStudies().filter { ($0 as NSString).lastPathComponent == id }
            folder = matches.count == 1 ? paths.resolve(matches[0].split(separator: "/").map(String.init)) : nil
        }
        guard let folder, isStudy(folder), let database = paths.resolve(paths.id(of: folder).split(separator: "/").map(String.init) + [Self.databaseName]) else {
            return nil
        }
        let store = try StudyStore(path: database, readOnly: true)
        return try StudyReport(name: (folder as NSString).lastPathComponent, store: store, epochs: epochs)
    }

    /// The id the pages link a study by. A shared study's id is its own (whether it exists is
    /// ``report(id:)``'s to find out, without listing the whole store).
    func canonicalID(of id: String) -> String? {
        if sharedName(id) != nil { return id }
        let studies = folderStudies()
        if studies.contains(id) { return id }
        let matches = studies.filter { ($0 as NSString).lastPathComponent == id }
        return matches.count == 1 ? matches[0] : nil
    }

    /// The study name in a shared study's id, when the catalog has a shared store.
    private func sharedName(_ id: String) -> String? {
        guard shared != nil, id.hasPrefix(Self.sharedPrefix) else { return nil }
        return String(id.dropFirst(Self.sharedPrefix.count))
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
