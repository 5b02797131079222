import Foundation
import NNCore
import NNTrain
import XCTest

final class SafeTensorsTests: XCTestCase {
    private let tensors: [NamedTensor] = [
        .float32("0.weight", shape: [2, 3], values: [1, -2, 3.5, 0, 1e-8, -0]),
        .float32("1.running_var", shape: [2], values: [1, 2]),
        .int64("1.num_batches_tracked", shape: [], integers: [12345]),
    ]

    func testRoundTripKeepsNamesShapesDtypesValuesAndMetadata() throws {
        let bytes = try SafeTensors.serialize(tensors, metadata: ["format": "test", "note": "quote \" and\nnewline é"])
        let back = try SafeTensors.parse(bytes, source: "mem")
        XCTAssertEqual(back.metadata, ["format": "test", "note": "quote \" and\nnewline é"])
        for t in tensors {
            XCTAssertEqual(back.tensor(named: t.name), t, t.name)
        }
        // The header length prefix and the data start are 8-byte aligned, as the reference writer does.
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual((8 + headerLength) % 8, 0)
        XCTAssertEqual(bytes.count, 8 + headerLength + 6 * 4 + 2 * 4 + 8)
    }

    func testTruncatedFileIsAClearError() throws {
        let bytes = try SafeTensors.serialize(tensors)
        XCTAssertThrowsMessage(try SafeTensors.parse(Array(bytes.dropLast(3)), source: "cut.safetensors"),
                               "cut.safetensors", "truncated or corrupt")
        XCTAssertThrowsMessage(try SafeTensors.parse(Array(bytes.prefix(20)), source: "head.safetensors"), "header claims")
        XCTAssertThrowsMessage(try SafeTensors.parse([1, 2, 3], source: "tiny"), "shorter than the 8-byte header length")
    }

    func testCorruptHeadersAreClearErrors() throws {
        func file(_ header: String, dataBytes: Int) -> [UInt8] {
            let h = Array(header.utf8)
            return Fixture.littleEndian(UInt64(h.count)) + h + [UInt8](repeating: 0, count: dataBytes)
        }
        XCTAssertThrowsMessage(try SafeTensors.parse(file("{not json", dataBytes: 0), source: "j"), "not valid JSON")
        XCTAssertThrowsMessage(
            try SafeTensors.parse(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, dataBytes: 12), source: "gap"),
            "offsets must be contiguous")
        XCTAssertThrowsMessage(
            try SafeTensors.parse(file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8), source: "size"),
            "does not fill")
        XCTAssertThrowsMessage(
            try SafeTensors.parse(file(#"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, dataBytes: 8), source: "dt"),
            "dtype C64")
        XCTAssertThrowsMessage(
            try SafeTensors.parse(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 8), source: "extra"),
            "belong to no tensor")
    }

    func testReadsOtherFloatTypesAsFloat32() throws {
        // F64 [0.5, -3], F16 [1, -2], BF16 [1.5], I32 [7]: sizes 16 + 4 + 2 + 4 bytes.
        let header = #"{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"h":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"# +
            #""b":{"dtype":"BF16","shape":[1],"data_offsets":[20,22]},"i":{"dtype":"I32","shape":[1],"data_offsets":[22,26]}}"#
        let h = Array(header.utf8)
        let data = Fixture.float64LE([0.5, -3]) + [0x00, 0x3C, 0x00, 0xC0] + [0xC0, 0x3F] + Fixture.littleEndian(Int32(7))
        let contents = try SafeTensors.parse(Fixture.littleEndian(UInt64(h.count)) + h + data, source: "mixed")
        XCTAssertEqual(contents.tensor(named: "d")?.values, [0.5, -3])
        XCTAssertEqual(contents.tensor(named: "h")?.values, [1, -2])
        XCTAssertEqual(contents.tensor(named: "b")?.values, [1.5])
        XCTAssertEqual(contents.tensor(named: "i")?.integers, [7])
        XCTAssertEqual(contents.tensor(named: "i")?.dtype, .int64)
    }

    func testAtomicWriteReplacesTheFileAndLeavesNoTemporaryFiles() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("nested/model.safetensors")
        // A missing folder is an error naming it, never created: a mistyped path must not scatter files.
        XCTAssertThrowsError(try SafeTensors.write(tensors, to: path)) { error in
            XCTAssertTrue("\(error)".contains("the folder \(dir.file("nested")) does not exist"), "\(error)")
        }
        try FileManager.default.createDirectory(atPath: dir.file("nested"), withIntermediateDirectories: false)
        try SafeTensors.write(tensors, metadata: ["v": "1"], to: path)
        try SafeTensors.write(Array(tensors.prefix(1)), metadata: ["v": "2"], to: path)
        let back = try SafeTensors.read(path: path)
        XCTAssertEqual(back.metadata["v"], "2")
        XCTAssertEqual(back.tensors.count, 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.file("nested"))
        XCTAssertEqual(leftovers, ["model.safetensors"], "the temporary file must be renamed away, not left behind")
    }

    func testFailedAtomicWriteKeepsTheOldFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("keep.safetensors")
        try SafeTensors.write(tensors, to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        // A tensor whose values do not fill its shape is rejected before anything is written.
        XCTAssertThrowsError(try SafeTensors.write([.float32("bad", shape: [4], values: [1])], to: path))
        // Writing into a directory that cannot be created fails without touching other files.
        XCTAssertThrowsError(try AtomicFile.write([1, 2, 3], to: path + "/inside-a-file"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["keep.safetensors"])
    }

    func testInvalidTensorListsAreRejected() {
        XCTAssertThrowsMessage(try SafeTensors.serialize([.float32("a", shape: [1], values: [1]), .float32("a", shape: [1], values: [2])]),
                               "'a'", "repeated")
        XCTAssertThrowsMessage(try SafeTensors.serialize([.float32("__metadata__", shape: [1], values: [1])]), "reserved")
    }
}
