import NNCore
@testable import NNData
import XCTest

final class NumPyReaderTests: XCTestCase {
    func testFloat32AndFloat64() throws {
        let f32 = try NPYReader.parse(Fixture.npy(descr: "<f4", shape: [2, 3], payload: Fixture.float32LE([1, 2, 3, 4, 5, 6.5])), source: "a")
        XCTAssertEqual(f32.shape, [2, 3])
        XCTAssertEqual(f32.values, [1, 2, 3, 4, 5, 6.5])
        XCTAssertFalse(f32.isIntegral)
        let f64 = try NPYReader.parse(Fixture.npy(descr: "<f8", shape: [3], payload: Fixture.float64LE([0.1, -2, 1e10])), source: "b")
        XCTAssertEqual(f64.values, [Float(0.1), -2, 1e10])
    }

    func testIntegerTypesBothByteOrdersAndVersion2Header() throws {
        let u8 = try NPYReader.parse(Fixture.npy(descr: "|u1", shape: [4], payload: [0, 1, 128, 255]), source: "u8")
        XCTAssertEqual(u8.values, [0, 1, 128, 255])
        XCTAssertTrue(u8.isIntegral)
        let i64 = try NPYReader.parse(Fixture.npy(descr: "<i8", shape: [2, 1], payload: Fixture.int64LE([7, -3]), version: 2), source: "i64")
        XCTAssertEqual(i64.values, [7, -3])
        XCTAssertEqual(i64.shape, [2, 1])
        let bigEndian: [UInt8] = [0x00, 0x00, 0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFE]
        let i32 = try NPYReader.parse(Fixture.npy(descr: ">i4", shape: [2], payload: bigEndian), source: "i32")
        XCTAssertEqual(i32.values, [256, -2])
        let half = try NPYReader.parse(Fixture.npy(descr: "<f2", shape: [3], payload: [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00]), source: "f2")
        XCTAssertEqual(half.values, [1, -2, 0x1p-24], "1.0, -2.0 and the smallest subnormal half")
    }

    func testUnsupportedDtypesAreRefusedWithTheFix() {
        XCTAssertThrowsMessage(try NPYReader.parse(Fixture.npy(descr: "<c8", shape: [1], payload: [UInt8](repeating: 0, count: 8)), source: "c.npy"),
                               "c.npy", "unsupported dtype '<c8' (complex64)", "astype(numpy.float32)")
        XCTAssertThrowsMessage(try NPYReader.parse(Fixture.npy(descr: "<U3", shape: [1], payload: [UInt8](repeating: 0, count: 12)), source: "s.npy"),
                               "unsupported dtype '<U3' (string)")
        XCTAssertThrowsMessage(try NPYReader.parse(Fixture.npy(descr: "|O", shape: [1], payload: [UInt8](repeating: 0, count: 8)), source: "o.npy"),
                               "unsupported dtype '|O'")
    }

    func testFortranOrderIsRefused() {
        XCTAssertThrowsMessage(
            try NPYReader.parse(Fixture.npy(descr: "<f4", shape: [2, 2], fortran: true, payload: Fixture.float32LE([1, 2, 3, 4])), source: "f.npy"),
            "Fortran", "ascontiguousarray")
    }

    func testTruncatedAndMalformedFiles() {
        let full = Fixture.npy(descr: "<f4", shape: [10, 10], payload: Fixture.float32LE([Float](repeating: 1, count: 100)))
        XCTAssertThrowsMessage(try NPYReader.parse(Array(full.dropLast(4)), source: "t.npy"), "truncated", "400 bytes", "396")
        XCTAssertThrowsMessage(try NPYReader.parse(Array(full.prefix(30)), source: "h.npy"), "truncated")
        XCTAssertThrowsMessage(try NPYReader.parse(Array("not numpy at all".utf8), source: "x.npy"), "not a NumPy .npy file")
    }

    func testNPYPairWithLabelsFile() throws {
        let dir = try TemporaryDirectory()
        let x = try dir.write("x.npy", Fixture.npy(descr: "<f4", shape: [3, 2], payload: Fixture.float32LE([1, 2, 3, 4, 5, 6])))
        let y = try dir.write("y.npy", Fixture.npy(descr: "<i8", shape: [3], payload: Fixture.int64LE([1, 0, 1])))
        let splits = try DataLoader.load(x, options: DataLoadOptions(labelsPath: y))
        XCTAssertEqual(splits.train.labels, [1, 0, 1])
        XCTAssertEqual(splits.train.width, 2)
        XCTAssertFalse(splits.isImageData, "a rank-2 array is a table whose columns may differ in unit")
        XCTAssertEqual(splits.suggestedNormalization, .perFeature)
        XCTAssertThrowsMessage(try DataLoader.load(x), "give the labels file with --labels")
        let fractional = try dir.write("yf.npy", Fixture.npy(descr: "<f4", shape: [3], payload: Fixture.float32LE([1, 0.5, 1])))
        XCTAssertThrowsMessage(try DataLoader.load(x, options: DataLoadOptions(labelsPath: fractional)), "label 0.5 of sample 1 is not a class index")

        // A CSV test file is read with the same options: its --label-column is not refused for the .npy beside it.
        let test = try dir.write("test.csv", text: "1,7,8\n0,9,10\n")
        let both = DataLoadOptions(csv: CSVOptions(labelColumn: .index(0)), labelsPath: y, testPath: test)
        XCTAssertEqual(try DataLoader.load(x, options: both).test?.labels, [1, 0])
        let npzTest = try dir.write("test.npz", [0])
        XCTAssertThrowsMessage(try DataLoader.load(x, options: DataLoadOptions(csv: CSVOptions(labelColumn: .index(0)), labelsPath: y,
                                                                                 testPath: npzTest)),
                               "--label-column reads CSV files", "this is an .npy array and --test-data an .npz archive")
    }

    func testNPZStoredAndDeflatedWithTrainAndTestArrays() throws {
        let dir = try TemporaryDirectory()
        let xTrain = Fixture.npy(descr: "|u1", shape: [4, 2, 2], payload: Array(0..<16))
        let yTrain = Fixture.npy(descr: "|u1", shape: [4], payload: [0, 1, 2, 1])
        let xTest = Fixture.npy(descr: "|u1", shape: [1, 2, 2], payload: [9, 9, 9, 9])
        let yTest = Fixture.npy(descr: "|u1", shape: [1], payload: [2])
        let path = try dir.write("mnist.npz", Fixture.zip([
            ("x_train.npy", xTrain, true), ("y_train.npy", yTrain, false), ("x_test.npy", xTest, true), ("y_test.npy", yTest, false),
        ]))
        let arrays = try NPZReader.read(path: path)
        XCTAssertEqual(arrays.map(\.name), ["x_train", "y_train", "x_test", "y_test"])
        let splits = try DataLoader.load(path)
        XCTAssertEqual(splits.train.count, 4)
        XCTAssertEqual(splits.train.width, 4)
        XCTAssertEqual(Array(splits.train.sample(2)), [8, 9, 10, 11])
        XCTAssertEqual(splits.test?.labels, [2])
        XCTAssertTrue(splits.isImageData, "samples × height × width are pixels")
        XCTAssertEqual(splits.suggestedNormalization, .global)
    }

    func testNPZWithPlainNamesAndExplicitKeys() throws {
        let dir = try TemporaryDirectory()
        let features = Fixture.npy(descr: "<f8", shape: [2, 3], payload: Fixture.float64LE([1, 2, 3, 4, 5, 6]))
        let target = Fixture.npy(descr: "<i8", shape: [2], payload: Fixture.int64LE([1, 0]))
        let path = try dir.write("d.npz", Fixture.zip([("features.npy", features, true), ("target.npy", target, true)]))
        XCTAssertEqual(try DataLoader.load(path).train.labels, [1, 0])
        XCTAssertFalse(try DataLoader.load(path).isImageData)
        let odd = try dir.write("odd.npz", Fixture.zip([("inputs_a.npy", features, false), ("classes_b.npy", target, false)]))
        XCTAssertThrowsMessage(try DataLoader.load(odd), "cannot tell which array holds the features", "inputs_a, classes_b", "--npz-x")
        let explicit = try DataLoader.load(odd, options: DataLoadOptions(npzFeatureKey: "inputs_a", npzLabelKey: "classes_b"))
        XCTAssertEqual(explicit.train.width, 3)
    }

    func testCorruptAndTruncatedNPZ() throws {
        let member = Fixture.npy(descr: "<f4", shape: [64], payload: Fixture.float32LE((0..<64).map(Float.init)))
        var archive = try Fixture.zip([("x.npy", member, false)])
        let dataOffset = 30 + "x.npy".utf8.count + 140  // a byte inside the stored array data
        archive[dataOffset] ^= 0x01
        XCTAssertThrowsMessage(try NPZReader.parse(archive, source: "c.npz"), "CRC-32 check failed")
        let good = try Fixture.zip([("x.npy", member, true)])
        XCTAssertThrowsMessage(try NPZReader.parse(Array(good.prefix(good.count - 30)), source: "t.npz"), "t.npz", "truncated")
        XCTAssertThrowsMessage(try NPZReader.parse(Array(repeating: 0, count: 100), source: "z.npz"), "no zip end-of-central-directory record")
    }

    func testUnknownExtensionAndMissingPath() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("data.parquet", text: "PAR1")
        XCTAssertThrowsMessage(try DataLoader.load(path), "unknown file type", ".csv")
        XCTAssertThrowsMessage(try DataLoader.load("no-such-set"), "no-such-set", "not a built-in data set", "fashion-mnist, mnist, digits")
    }
}
