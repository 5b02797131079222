import FlyingFox
import FlyingSocks
import Foundation
import NNTune

/// `nn dashboard`'s HTTP server: read-only pages and JSON about the runs and studies under one root.
///
/// It routes on the raw request target itself rather than on a framework's normalised path, so
/// that `..`, encoded separators and links are judged by ``SafePath`` before anything is read.
public struct DashboardServer: Sendable {
    public let root: String
    public let host: String
    public let port: UInt16
    /// A PostgreSQL store whose studies are listed beside the root's (nil: the root's only).
    public let sharedStudies: StudyStorage?

    /// Longest request target (path and query) served; longer ones get 400.
    static let maximumTargetLength = 4096

    public init(root: String, host: String = "127.0.0.1", port: UInt16 = 8080, sharedStudies: StudyStorage? = nil) {
        self.root = root
        self.host = host
        self.port = port
        self.sharedStudies = sharedStudies
    }

    /// Listens, calls `ready` with the URL once accepting connections, and serves until cancelled.
    public func run(ready: @escaping @Sendable (String) -> Void) async throws {
        let address: any SocketAddress = host.contains(":")
            ? try sockaddr_in6.inet6(ip6: host, port: port)
            : try sockaddr_in.inet(ip4: host, port: port)
        let server = HTTPServer(address: address, timeout: 30, logger: .disabled, handler: DashboardHandler(root: root, sharedStudies: sharedStudies))
        let task = Task { try await server.run() }
        try await server.waitUntilListening(timeout: 10)
        var shownPort = port
        switch await server.listeningAddress {
        case let .ip4(_, port)?, let .ip6(_, port)?: shownPort = port
        default: break
        }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        ready("http://\(shownHost):\(shownPort)/")
        try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }
}

/// Answers one request: a page, a JSON document, a static asset, or an error status.
struct DashboardHandler: HTTPHandler {
    let runs: RunPages
    let studies: StudyPages

    init(root: String, sharedStudies: StudyStorage? = nil) {
        let paths = SafePath(root: root)
        runs = RunPages(catalog: RunCatalog(paths: paths))
        studies = StudyPages(catalog: StudyCatalog(paths: paths, shared: sharedStudies))
    }

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return Self.text(.methodNotAllowed, "read-only: only GET and HEAD are served\n")
        }
        let rawPath = request.target.path(percentEncoded: true)
        let rawQuery = request.target.query(percentEncoded: true)
        guard rawPath.utf8.count + rawQuery.utf8.count <= DashboardServer.maximumTargetLength else {
            return Self.text(.badRequest, "request target longer than \(DashboardServer.maximumTargetLength) bytes\n")
        }
        guard rawPath.hasPrefix("/") else { return Self.text(.badRequest, "the path must start with /\n") }
        var segments: [String] = []
        for raw in rawPath.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let decoded = String(raw).removingPercentEncoding else { return Self.text(.badRequest, "malformed percent-encoding\n") }
            segments.append(decoded)
        }
        if segments.last == "", segments.count > 1 { segments.removeLast() }
        // Every segment that names a file or folder is checked by SafePath; these are refused outright.
        if segments.contains(where: { $0 == ".." || $0 == "." || $0.contains("/") || $0.contains("\0") }) {
            return Self.text(.badRequest, "path segments may not be '.', '..' or hold '/'\n")
        }
        do {
            return try route(segments, query: request.query)
        } catch {
            return Self.text(.internalServerError, "cannot read that: \(error)\n")
        }
    }

    private func route(_ segments: [String], query: [HTTPRequest.QueryItem]) throws -> HTTPResponse {
        switch segments.first ?? "" {
        case "":
            return Self.html(runs.list())
        case "runs" where segments.count >= 2:
            let rest = Array(segments.dropFirst())
            if let run = runs.catalog.run(id: rest.joined(separator: "/")) { return Self.html(runs.page(run)) }
            if rest.last == "charts", let run = runs.catalog.run(id: rest.dropLast().joined(separator: "/")) {
                return Self.html(runs.charts(run))
            }
            return notFound("no run \(rest.joined(separator: "/")) under the root")
        case "compare":
            let ids = (query.first { $0.name == "runs" }?.value ?? "").split(separator: ",").map(String.init)
            let found = ids.compactMap { runs.catalog.run(id: $0) }
            guard !found.isEmpty, found.count == ids.count else { return notFound("compare?runs=a,b names runs under the root") }
            return Self.html(runs.compare(found))
        case "studies" where segments.count == 1:
            return Self.html(studies.list())
        case "studies":
            let id = segments.dropFirst().joined(separator: "/")
            guard let canonical = studies.catalog.canonicalID(of: id), let report = try studies.catalog.report(id: canonical) else {
                return noStudy(id)
            }
            return Self.html(studies.page(id: canonical, report: report))
        case "api":
            return try api(Array(segments.dropFirst()))
        case "static" where segments.count == 2:
            switch segments[1] {
            case "dashboard.js": return Self.body(Assets.script, type: "text/javascript; charset=utf-8")
            case "dashboard.css": return Self.body(Assets.stylesheet, type: "text/css; charset=utf-8")
            default: return notFound("no such asset")
            }
        default:
            return notFound("no such page")
        }
    }

    private func api(_ segments: [String]) throws -> HTTPResponse {
        switch segments.first ?? "" {
        case "runs" where segments.count == 1:
            return try Self.json(runs.listJSON())
        case "runs":
            let rest = Array(segments.dropFirst())
            if let run = runs.catalog.run(id: rest.joined(separator: "/")) { return try Self.json(runs.json(run)) }
            if rest.last == "version", let run = runs.catalog.run(id: rest.dropLast().joined(separator: "/")) {
                return Self.text(.ok, RunPages.version(run))
            }
            return notFound("no run \(rest.joined(separator: "/")) under the root")
        case "studies" where segments.count == 1:
            return try Self.json(studies.listJSON())
        case "studies":
            let id = segments.dropFirst().joined(separator: "/")
            guard let canonical = studies.catalog.canonicalID(of: id), let report = try studies.catalog.report(id: canonical) else {
                return noStudy(id)
            }
            return try Self.json(studies.json(id: canonical, report: report))
        default:
            return notFound("no such API")
        }
    }

    private func notFound(_ why: String) -> HTTPResponse { Self.text(.notFound, why + "\n") }

    private func noStudy(_ id: String) -> HTTPResponse {
        notFound("no study \(id) under the root" + (studies.catalog.shared.map { " or in \($0)" } ?? ""))
    }

    static func html(_ text: String) -> HTTPResponse { body(text, type: "text/html; charset=utf-8") }

    static func text(_ status: HTTPStatusCode, _ text: String) -> HTTPResponse {
        HTTPResponse(statusCode: status, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"], body: Data(text.utf8))
    }

    static func json(_ object: [String: Any]) throws -> HTTPResponse {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: data)
    }

    static func body(_ text: String, type: String) -> HTTPResponse {
        HTTPResponse(statusCode: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: Data(text.utf8))
    }
}
