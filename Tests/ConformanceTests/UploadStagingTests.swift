import NNCore
@testable import NNOpenCL
import XCTest

/// Uploads return before the device has the data (`UploadStaging`): each is copied into one of a
/// few pinned slots, written without blocking, and a slot is reused only after its write completed.
/// The values are small integers, so every sum below is exact in Float32.
final class UploadStagingTests: XCTestCase {
    private func backend() throws -> OpenCLBackend {
        try openCLOrSkip { try OpenCLBackend() }
    }

    /// Behind a slow product, so that the writes are still queued when their slots come round again:
    /// a slot reused too early, or a write that read the caller's array after upload returned,
    /// changes the sum. Each upload is read by an axpy queued after it and before the next upload.
    func testStagedUploadsKeepTheirValuesAndOrder() throws {
        let backend = try backend()
        let n = 4096
        let a = try backend.makeTensor([Float](repeating: 1, count: 1024 * 1024), shape: Shape(1024, 1024))
        let product = try backend.makeTensor(Shape(1024, 1024))
        let batch = try backend.makeTensor(Shape(1, n)), total = try backend.makeTensor(Shape(1, n))
        let uploads = 5 * UploadStaging.slotCount
        // The slots first, so that the loop below is not slowed by making them (a map waits for the device).
        for _ in 0..<UploadStaging.slotCount { try backend.upload([Float](repeating: 0, count: n), to: batch) }
        try backend.synchronize()
        try backend.gemm(a, transposeA: false, a, transposeB: false, into: product, alpha: 1, beta: 0)
        var values = [Float](repeating: 0, count: n)
        for k in 0..<uploads {
            for j in 0..<n { values[j] = Float((k * 7 + j) % 13) }
            try backend.upload(values, to: batch)
            for j in 0..<n { values[j] = -1000 }  // the caller's array is theirs again
            try backend.axpy(alpha: 1, batch, total)
        }
        var expected = [Float](repeating: 0, count: n)
        for k in 0..<uploads {
            for j in 0..<n { expected[j] += Float((k * 7 + j) % 13) }
        }
        XCTAssertEqual(try backend.download(total), expected)
        XCTAssertEqual(try backend.download(product).first, 1024, "the product before the uploads")
    }

    /// Slots grow with the uploads (past their first 1 MiB); an upload past the staging limit is
    /// written blocking; both round-trip, interleaved with staged ones.
    func testUploadsOfEverySizeRoundTrip() throws {
        let backend = try backend()
        let largest = UploadStaging.largestStagedBytes / MemoryLayout<Float>.stride
        for count in [1, 1000, 300_000, 2_000_000, largest, largest + 1, 5] {
            let values = (0..<count).map { Float($0 % 1024) }
            let tensor = try backend.makeTensor(Shape(1, count))
            try backend.upload(values, to: tensor)
            XCTAssertEqual(try backend.download(tensor), values, "\(count) floats")
        }
    }

    /// A backend dropped with staged writes still queued waits for them before it lets go of the
    /// slots and the queue (a released slot under a pending write would be a use after free).
    func testABackendDroppedWithPendingUploadsClosesCleanly() throws {
        for _ in 0..<3 {
            let backend = try backend()
            let tensor = try backend.makeTensor(Shape(256, 256))
            try backend.gemm(tensor, transposeA: false, tensor, transposeB: false, into: try backend.makeTensor(Shape(256, 256)),
                             alpha: 1, beta: 0)
            for _ in 0..<(2 * UploadStaging.slotCount) {
                try backend.upload([Float](repeating: 2, count: 256 * 256), to: tensor)
            }
        }
        let survivor = try backend()
        let check = try survivor.makeTensor([Float(3), 4], shape: Shape(1, 2))
        XCTAssertEqual(try survivor.download(check), [3, 4])
    }
}
