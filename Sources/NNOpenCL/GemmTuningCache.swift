import Foundation
import NNCore

/// The on-disk store of GEMM autotuning winners: one JSON file, one entry per (device, driver, kernel source).
///
/// Entries are keyed by device name, driver version and a hash of the GEMM kernel source, so a driver
/// update or a kernel change invalidates a tuning by itself (the stale entry is simply never looked up).
/// A cache that cannot be read or decoded is treated as empty and reported once through `warn`: a
/// tuning cache is an optimisation, and a broken one must never stop a backend from opening.
public struct GemmTuningCache: Sendable {
    /// What one tuning is stored under.
    public struct Key: Sendable, Hashable {
        public var device: String
        public var driverVersion: String
        public var kernelSourceHash: String

        public init(device: String, driverVersion: String, kernelSourceHash: String = GemmAutotuner.kernelSourceHash) {
            self.device = device
            self.driverVersion = driverVersion
            self.kernelSourceHash = kernelSourceHash
        }

        /// The key of `device` with the GEMM kernel source compiled into this build.
        public init(_ device: OpenCLDeviceInfo) {
            self.init(device: device.name, driverVersion: device.driverVersion)
        }

        var text: String { "\(device) | \(driverVersion) | gemm.cl \(kernelSourceHash)" }
    }

    /// One stored winner.
    public struct Entry: Sendable, Codable, Equatable {
        public var device: String
        public var driverVersion: String
        public var kernelSourceHash: String
        public var tuning: GemmTuning
        /// GFLOP/s the winner reached over the autotuner's timed set.
        public var gflops: Double
        public var tunedAt: Date
    }

    private struct File: Codable {
        var version = 1
        var entries: [String: Entry] = [:]
    }

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
                                       tuning: tuning, gflops: gflops, tunedAt: date)
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
            return try decoder.decode(File.self, from: Data(contentsOf: url))
        } catch {
            warn("ignoring the GEMM tuning cache \(url.path), which cannot be read (\(error)); "
                 + "built-in tile sizes are used until `nnbench tune` rewrites it (or delete the file)")
            return File()
        }
    }
}
