import NNCore
@testable import NNData
import NNTrain
import XCTest

/// Every proper prefix of a valid file — what an interrupted download or copy leaves — must be a
/// thrown error, never a crash and never a silently shorter data set.
final class TruncationTests: XCTestCase {
    private func assertEveryPrefixThrows(_ bytes: [UInt8], _ what: String, parse: ([UInt8]) throws -> Void) {
        XCTAssertNoThrow(try parse(bytes), "the complete \(what) must parse")
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try parse(Array(bytes.prefix(length))), "\(what) cut to \(length) of \(bytes.count) bytes")
        }
    }

    func testIDX() throws {
        let file = Fixture.idxUInt8(shape: [3, 2, 2], values: Array(0..<12))
        assertEveryPrefixThrows(file, "IDX") { _ = try IDXReader.parse($0, source: "idx") }
        let gz = try Fixture.gzip(file)
        assertEveryPrefixThrows(gz, "gzip IDX") { _ = try IDXReader.parse(Inflate.gunzip($0, source: "gz"), source: "gz") }
    }

    func testNPY() {
        let file = Fixture.npy(descr: "<f8", shape: [2, 2], payload: Fixture.float64LE([1, 2, 3, 4]))
        assertEveryPrefixThrows(file, "npy") { _ = try NPYReader.parse($0, source: "npy") }
    }

    func testNPZ() throws {
        let member = Fixture.npy(descr: "<i8", shape: [3], payload: Fixture.int64LE([1, 2, 3]))
        let archive = try Fixture.zip([("y.npy", member, true), ("x.npy", member, false)])
        assertEveryPrefixThrows(archive, "npz") { _ = try NPZReader.parse($0, source: "npz") }
    }

    func testSafeTensors() throws {
        let file = try SafeTensors.serialize([.float32("w", shape: [2, 2], values: [1, 2, 3, 4]),
                                              .int64("n", shape: [], integers: [5])], metadata: ["k": "v"])
        assertEveryPrefixThrows(file, "safetensors") { _ = try SafeTensors.parse($0, source: "st") }
    }

    func testCSVCutInsideItsLastRowThrows() {
        // CSV has no length field, so a cut at a line end is indistinguishable from a shorter file; a cut
        // inside the last row leaves a ragged row ("55,6") or an empty label ("55,66,"), and both must throw.
        let text = Array("1,2,0\n3,4,1\n55,66,1\n".utf8)
        let lastRowStart = 12
        for length in (lastRowStart + 1)..<(text.count - 1) {  // "5" … "55,66,"
            XCTAssertThrowsError(try CSVReader.parse(Array(text.prefix(length)), source: "cut.csv"),
                                 String(decoding: text.prefix(length), as: UTF8.self))
        }
        XCTAssertEqual(try CSVReader.parse(Array(text.prefix(lastRowStart)), source: "short.csv").labels, [0, 1])
    }
}
