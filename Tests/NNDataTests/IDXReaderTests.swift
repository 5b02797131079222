import NNCore
@testable import NNData
import XCTest

final class IDXReaderTests: XCTestCase {
    func testReadsUInt8ImagesAsRawPixelValues() throws {
        let dir = try TemporaryDirectory()
        let pixels: [UInt8] = (0..<24).map { UInt8($0 * 10) }
        let path = try dir.write("images-idx3-ubyte", Fixture.idxUInt8(shape: [2, 3, 4], values: pixels))
        let array = try IDXReader.read(path: path)
        XCTAssertEqual(array.shape, [2, 3, 4])
        XCTAssertEqual(array.sampleCount, 2)
        XCTAssertEqual(array.sampleWidth, 12)
        XCTAssertEqual(array.values, pixels.map(Float.init))
        XCTAssertTrue(array.isIntegral)
    }

    func testReadsGzipCompressedFiles() throws {
        let dir = try TemporaryDirectory()
        let labels: [UInt8] = (0..<1000).map { UInt8($0 % 10) }
        let path = try dir.write("labels-idx1-ubyte.gz", Fixture.gzip(Fixture.idxUInt8(shape: [1000], values: labels)))
        let array = try IDXReader.read(path: path)
        XCTAssertEqual(array.shape, [1000])
        XCTAssertEqual(array.values, labels.map(Float.init))
    }

    func testReadsBigEndianFloatAndSignedTypes() throws {
        let floats: [Float] = [1.5, -2.25, 1e-3]
        let bytes = floats.flatMap { Fixture.bigEndian($0.bitPattern) }
        let f = try IDXReader.parse(Fixture.idx(typeCode: 0x0D, shape: [3, 1], payload: bytes), source: "f")
        XCTAssertEqual(f.values, floats)
        XCTAssertFalse(f.isIntegral)
        let shorts = try IDXReader.parse(Fixture.idx(typeCode: 0x0B, shape: [2], payload: [0xFF, 0xFE, 0x01, 0x00]), source: "s")
        XCTAssertEqual(shorts.values, [-2, 256])
        let bytes8 = try IDXReader.parse(Fixture.idx(typeCode: 0x09, shape: [4], payload: [0xFF, 0x80, 0x7F, 0x00]), source: "b")
        XCTAssertEqual(bytes8.values, [-1, -128, 127, 0], "0x09 bytes are signed")
    }

    func testTruncatedDataIsAnErrorNamingTheSizes() throws {
        let dir = try TemporaryDirectory()
        let full = Fixture.idxUInt8(shape: [10, 28, 28], values: [UInt8](repeating: 7, count: 7840))
        let path = try dir.write("cut-idx3-ubyte", Array(full.dropLast(100)))
        XCTAssertThrowsMessage(try IDXReader.read(path: path), "truncated", "7840", "7740", "re-download")
    }

    func testTruncatedGzipIsAnError() throws {
        let dir = try TemporaryDirectory()
        let gz = try Fixture.gzip(Fixture.idxUInt8(shape: [500], values: (0..<500).map { UInt8($0 % 251) }))
        let path = try dir.write("cut-idx1-ubyte.gz", Array(gz.dropLast(gz.count / 3)))
        XCTAssertThrowsMessage(try IDXReader.read(path: path), "cut-idx1-ubyte.gz", "truncated")
    }

    func testCorruptGzipIsAnError() throws {
        var gz = try Fixture.gzip(Fixture.idxUInt8(shape: [500], values: (0..<500).map { UInt8($0 % 7) }))
        gz[gz.count - 6] ^= 0xFF  // inside the CRC-32 trailer
        XCTAssertThrowsMessage(try IDXReader.parse(Inflate.gunzip(gz, source: "x.gz"), source: "x.gz"), "corrupt")
    }

    func testBadMagicAndUnknownTypeAndShortHeader() {
        XCTAssertThrowsMessage(try IDXReader.parse([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 1, 0], source: "zip"), "bad magic number 50 4b")
        XCTAssertThrowsMessage(try IDXReader.parse(Fixture.idx(typeCode: 0x07, shape: [1], payload: [0]), source: "t"),
                               "unknown IDX element type code 0x07")
        XCTAssertThrowsMessage(try IDXReader.parse([0, 0, 8, 3, 0, 0, 0, 2], source: "h"), "ends inside the header", "truncated")
        XCTAssertThrowsMessage(try IDXReader.parse([0, 0], source: "e"), "too short")
    }

    func testTrailingBytesAreAnError() {
        XCTAssertThrowsMessage(try IDXReader.parse(Fixture.idxUInt8(shape: [2], values: [1, 2, 3]), source: "t"),
                               "1 bytes of unexpected data")
    }

    func testMissingFileNamesThePath() {
        XCTAssertThrowsMessage(try IDXReader.read(path: "/nonexistent/train-images-idx3-ubyte"), "/nonexistent/train-images-idx3-ubyte", "no such file")
    }

    func testDirectoryInMNISTLayoutLoadsTrainAndTest() throws {
        let dir = try TemporaryDirectory()
        try dir.write("train-images-idx3-ubyte.gz", Fixture.gzip(Fixture.idxUInt8(shape: [4, 2, 2], values: Array(0..<16))))
        try dir.write("train-labels-idx1-ubyte.gz", Fixture.gzip(Fixture.idxUInt8(shape: [4], values: [0, 1, 2, 1])))
        try dir.write("t10k-images-idx3-ubyte", Fixture.idxUInt8(shape: [2, 2, 2], values: Array(100..<108)))
        try dir.write("t10k-labels-idx1-ubyte", Fixture.idxUInt8(shape: [2], values: [2, 0]))
        let splits = try DataLoader.load(dir.path)
        XCTAssertEqual(splits.train.count, 4)
        XCTAssertEqual(splits.train.width, 4)
        XCTAssertEqual(splits.train.classes, 3)
        XCTAssertEqual(splits.train.labels, [0, 1, 2, 1])
        XCTAssertEqual(Array(splits.train.sample(3)), [12, 13, 14, 15])
        XCTAssertEqual(splits.test?.count, 2)
        XCTAssertEqual(splits.test?.classes, 3, "the test set takes the training set's class count")
        XCTAssertTrue(splits.isImageData)
    }

    func testImageAndLabelCountsMustAgree() throws {
        let dir = try TemporaryDirectory()
        try dir.write("train-images-idx3-ubyte", Fixture.idxUInt8(shape: [3, 1, 2], values: Array(0..<6)))
        try dir.write("train-labels-idx1-ubyte", Fixture.idxUInt8(shape: [2], values: [0, 1]))
        XCTAssertThrowsMessage(try DataLoader.load(dir.path), "2 labels for 3 samples")
    }
}
