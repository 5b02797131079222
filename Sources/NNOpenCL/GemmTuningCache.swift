import Foundation
import NNCore

/// The on-disk store of GEMM autotuning winners: one JSON file, one entry per (device, driver, kernel
/// source, shape class).
///
/// Entries are keyed by device name, driver version, a hash of the GEMM kernel source and the
/// ``GemmShapeClass``, so a driver update or a kernel change invalidates a tuning by itself (the stale
/// entry is simply never looked up). A file of an older format (version 1, before shape classes) holds
/// only entries for an older kernel source, so it reads as empty, silently, and the next store replaces it;
/// a file of a newer format reads as empty with a warning.
/// A cache that cannot be read or decoded is treated as empty and reported once through `warn`: a
/// tuning cache is an optimisation, and a broken one must never stop a backend from opening.
public struct GemmTuningCache: Sendable {
    /// What one tuning is stored under.
    public struct Key: Sendable, Hashable {
        public var device: String
        public var driverVersion: String
        public var kernelSourceHash: String
        public var shapeClass: GemmShapeClass

        public init(device: String, driverVersion: String, kernelSourceHash: String = GemmAutotuner.kernelSourceHash,
                    shapeClass: GemmShapeClass = .square) {
            self.device = device
            self.driverVersion = driverVersion
            self.kernelSourceHash = kernelSourceHash
            self.shapeClass = shapeClass
        }

        /// The key of `device` and `shapeClass` with the GEMM kernel source compiled into this build.
        public init(_ device: OpenCLDeviceInfo, shapeClass: GemmShapeClass = .square) {
            self.init(device: device.name, driverVersion: device.driverVersion, shapeClass: shapeClass)
        }

        var text: String { "\(device) | \(driverVersion) | gemm.cl \(kernelSourceHash) | \(shapeClass.rawValue)" }
    }

    /// One stored winner.
    public struct Entry: Sendable, Codable, Equatable {
        public var device: String
        public var driverVersion: String
        public var kernelSourceHash: String
        public var shapeClass: GemmShapeClass
        public var tuning: GemmTuning
        /// GFLOP/s the winner reached over the autotuner's timed set.
        public var gflops: Double
        public var tunedAt: Date
    }

    private struct File: Codable {
        var version = GemmTuningCache.formatVersion
        var entries: [String: Entry] = [:]
    }

    /// Only the version, read first so that a file of another format is refused before its entries are decoded.
    private struct Header: Decodable {
        var version: Int
    }

    /// The file format this build reads and writes: 2 added shape classes and the tiled family's new sizes.
    public static let formatVersion = 2

    /// The JSON file this cache reads and writes.
    public let url: URL
    private let warn: @Sendable (String) -> Void

    /// - Parameters:
    ///   - url: the cache file; ``GemmAutotuner/cacheURL`` by default.
    ///   - warn: where a note about an unreadable cache goes; standard error by default.
    public init(url: URL = GemmAutotuner.cacheURL, warn: @escaping @Sendable (String) -> Void = GemmTuningCache.warnOnStandardError) {
        self.url = url
        self.warn = warn
    }

    /// Writes `message` to standard error on one line.
    public static let warnOnStandardError: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data(("swiftnn: " + message + "\n").utf8))
    }

    /// The entry stored under `key`, or nil when there is none (or the file is missing or unreadable).
    public func entry(for key: Key) -> Entry? {
        read().entries[key.text]
    }

    /// Stores `tuning` under `key`, keeping every other entry; replaces a cache that could not be read.
    public func store(_ tuning: GemmTuning, gflops: Double, for key: Key, at date: Date = Date()) throws {
        var file = read()
        file.entries[key.text] = Entry(device: key.device, driverVersion: key.driverVersion, kernelSourceHash: key.kernelSourceHash,
                                       shapeClass: key.shapeClass, tuning: tuning, gflops: gflops, tunedAt: date)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try encoder.encode(file).write(to: url, options: .atomic)
        } catch {
            throw NNError.invalidArgument(
                op: "GEMM autotuning",
                detail: "cannot write the tuning cache \(url.path): \(error); set NN_GEMM_TUNING_CACHE to a writable path")
        }
    }

    private func read() -> File {
        guard FileManager.default.fileExists(atPath: url.path) else { return File() }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let data = try Data(contentsOf: url)
            let version = try decoder.decode(Header.self, from: data).version
            if version < Self.formatVersion { return File() }
            guard version == Self.formatVersion else {
                warn("ignoring the GEMM tuning cache \(url.path), written in format \(version) by a newer SwiftNN "
                     + "(this one reads \(Self.formatVersion)); built-in tile sizes are used, and `nnbench tune` would replace it")
                return File()
            }
            return try decoder.decode(File.self, from: data)
        } catch {
            warn("ignoring the GEMM tuning cache \(url.path), which cannot be read (\(error)); "
                 + "built-in tile sizes are used until `nnbench tune` rewrites it (or delete the file)")
            return File()
        }
    }
}
