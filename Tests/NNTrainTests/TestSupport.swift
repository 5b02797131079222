import Foundation
import NNBackends
import NNCore
import NNNative
import NNOpenCL
import NNTrain
import XCTest

/// Shared fixtures for the training-stack tests.
enum TestSupport {
    /// The 8×8 digits fixture: 1,797 rows of 64 pixels (0–16) and a label, no header.
    static func digits() throws -> Dataset {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/digits.csv")
        let text = try String(contentsOf: url, encoding: .utf8)
        var features: [Float] = []
        var labels: [Int32] = []
        for (lineNumber, line) in text.split(separator: "\n").enumerated() {
            let cells = line.split(separator: ",")
            guard cells.count == 65, let label = Int32(cells[64]) else {
                throw NNError.invalidData(source: "digits.csv", detail: "line \(lineNumber + 1) is malformed")
            }
            for cell in cells[..<64] {
                guard let v = Float(cell) else {
                    throw NNError.invalidData(source: "digits.csv", detail: "line \(lineNumber + 1): '\(cell)' is not a number")
                }
                features.append(v)
            }
            labels.append(label)
        }
        return try Dataset(features: features, labels: labels, width: 64, classes: 10, name: "digits")
    }

    static func native() -> NativeBackend { NativeBackend(precision: .float32, threads: 1) }

    /// The OpenCL backend, or — when it cannot be built — a failure under CI=true, an XCTSkip only
    /// when NN_SKIP_OPENCL=1 says so, and a failure otherwise. Never a silent pass.
    /// The tunings and `memoryKernels` force the GEMM kernels and the memory-bound kernels' shapes
    /// (nil: the device's own).
    static func openCL(gemmTuning: GemmTuning? = nil, skinnyGemmTuning: GemmTuning? = nil,
                       memoryKernels: MemoryKernelFamily? = nil) throws -> any Backend {
        let environment = ProcessInfo.processInfo.environment
        do {
            if gemmTuning != nil || skinnyGemmTuning != nil || memoryKernels != nil {
                return try OpenCLBackend(gemmTuning: gemmTuning, skinnyGemmTuning: skinnyGemmTuning, memoryKernels: memoryKernels)
            }
            return try BackendSelection.make(.opencl, log: { _ in })
        } catch {
            if environment["CI"] == "true" {
                XCTFail("OpenCL backend unavailable under CI=true: \(error)")
                throw error
            }
            if environment["NN_SKIP_OPENCL"] == "1" {
                throw XCTSkip("OpenCL backend unavailable and NN_SKIP_OPENCL=1: \(error)")
            }
            XCTFail("OpenCL backend unavailable: \(error); set NN_SKIP_OPENCL=1 to skip OpenCL tests explicitly")
            throw error
        }
    }

    /// A random, learnable data set: class = arg-max of a fixed linear map of Gaussian features.
    static func synthetic(count: Int, width: Int, classes: Int, seed: UInt64) throws -> Dataset {
        var g = SeededGenerator(seed: seed)
        let w = (0..<width * classes).map { _ in Float(g.nextGaussian()) }
        var features: [Float] = []
        var labels: [Int32] = []
        for _ in 0..<count {
            let x = (0..<width).map { _ in Float(g.nextGaussian()) }
            var best = 0, bestScore = -Float.infinity
            for c in 0..<classes {
                var s: Float = 0
                for j in 0..<width { s += x[j] * w[j * classes + c] }
                if s > bestScore { bestScore = s; best = c }
            }
            features += x.map { $0 * 3 + 1 }  // off-centre and scaled, so normalisation matters
            labels.append(Int32(best))
        }
        return try Dataset(features: features, labels: labels, width: width, classes: classes, name: "synthetic")
    }
}
