import NNCore
@testable import NNData
import XCTest

final class CSVReaderTests: XCTestCase {
    func testNoHeaderLabelLastByDefault() throws {
        let table = try CSVReader.parse(Array("1,2,0\n3.5,-4e-1,1\n".utf8), source: "t.csv")
        XCTAssertEqual(table.width, 2)
        XCTAssertEqual(table.features, [1, 2, 3.5, -0.4])
        XCTAssertEqual(table.labels, [0, 1])
        XCTAssertNil(table.featureNames)
    }

    func testHeaderIsDetectedAndLabelChosenByName() throws {
        let text = "label,a,\"b, quoted\"\n2,0.5,1\n0,1.5,2\n"
        let table = try CSVReader.parse(Array(text.utf8), source: "t.csv", options: CSVOptions(labelColumn: .name("label")))
        XCTAssertEqual(table.featureNames, ["a", "b, quoted"])
        XCTAssertEqual(table.features, [0.5, 1, 1.5, 2])
        XCTAssertEqual(table.labels, [2, 0])
    }

    func testLabelColumnByIndexAndFromTheEnd() throws {
        let text = "5,1,9\n6,0,8\n"
        let first = try CSVReader.parse(Array(text.utf8), source: "t", options: CSVOptions(labelColumn: .index(1)))
        XCTAssertEqual(first.labels, [1, 0])
        XCTAssertEqual(first.features, [5, 9, 6, 8])
        let fromEnd = try CSVReader.parse(Array(text.utf8), source: "t", options: CSVOptions(labelColumn: .index(-2)))
        XCTAssertEqual(fromEnd.labels, [1, 0])
        XCTAssertEqual(LabelColumn(parsing: "-1"), .index(-1))
        XCTAssertEqual(LabelColumn(parsing: "species"), .name("species"))
    }

    func testCRLFBlankLinesBOMQuotesAndSpaces() throws {
        let text = "\u{FEFF}x,y,label\r\n\r\n 1 , \"2\" ,1\r\n\r\n3,4,0\r\n   \r\n"
        let table = try CSVReader.parse(Array(text.utf8), source: "t")
        XCTAssertEqual(table.featureNames, ["x", "y"])
        XCTAssertEqual(table.features, [1, 2, 3, 4])
        XCTAssertEqual(table.labels, [1, 0])
    }

    func testForcedHeaderModes() throws {
        let text = "1,2,0\n3,4,1\n"
        let withHeader = try CSVReader.parse(Array(text.utf8), source: "t", options: CSVOptions(header: .present))
        XCTAssertEqual(withHeader.labels, [1])
        XCTAssertEqual(withHeader.featureNames, ["1", "2"])
        XCTAssertThrowsMessage(
            try CSVReader.parse(Array("a,b,label\n1,2,0\n".utf8), source: "h.csv", options: CSVOptions(header: .absent)),
            "line 1, column 1", "'a' is not a number")
    }

    func testRaggedRowNamesTheLine() {
        XCTAssertThrowsMessage(try CSVReader.parse(Array("1,2,0\n3,4,1\n5,6\n".utf8), source: "r.csv"),
                               "r.csv", "line 3 has 2 columns but line 1 has 3", "ragged")
    }

    func testNonNumericCellNamesLineAndColumn() {
        XCTAssertThrowsMessage(try CSVReader.parse(Array("a,b,label\n1,2,0\n3,x7,1\n".utf8), source: "n.csv"),
                               "n.csv", "line 3, column 2 ('b')", "'x7' is not a number")
        XCTAssertThrowsMessage(try CSVReader.parse(Array("1,2,0\n3,,1\n".utf8), source: "e.csv"), "line 2, column 2", "is empty")
        XCTAssertThrowsMessage(try CSVReader.parse(Array("1,2,0\n3,nan,1\n".utf8), source: "nan.csv"), "line 2, column 2", "'nan'")
        XCTAssertThrowsMessage(try CSVReader.parse(Array("1,2,0\n3,1e99,1\n".utf8), source: "inf.csv"), "line 2, column 2", "not finite")
    }

    func testLabelsMustBeNonNegativeIntegers() {
        XCTAssertThrowsMessage(try CSVReader.parse(Array("1,2,0\n3,4,1.5\n".utf8), source: "l.csv"),
                               "line 2, column 3", "label 1.5 is not a class index")
        XCTAssertThrowsMessage(try CSVReader.parse(Array("1,2,-1\n".utf8), source: "l.csv"), "label -1.0 is not a class index")
    }

    /// Text labels are class names: numbered in sorted order, with no header needed, since only the
    /// feature cells decide whether the first row is a header.
    func testTextLabelsBecomeSortedClassNames() throws {
        let table = try CSVReader.parse(Array("5.1,3.5,virginica\n4.9,3.0,setosa\n6.2,2.9,versicolor\n5.0,3.4,setosa\n".utf8), source: "iris.csv")
        XCTAssertNil(table.featureNames, "a first row of numbers and a class name is data")
        XCTAssertEqual(table.classNames, ["setosa", "versicolor", "virginica"])
        XCTAssertEqual(table.labels, [2, 0, 1, 0])
        XCTAssertEqual(table.features, [5.1, 3.5, 4.9, 3.0, 6.2, 2.9, 5.0, 3.4])
        let headed = try CSVReader.parse(Array("a,b,kind\n1,2,class_b\n3,4,class_a\n".utf8), source: "h.csv")
        XCTAssertEqual(headed.featureNames, ["a", "b"])
        XCTAssertEqual(headed.labels, [1, 0])
        XCTAssertThrowsMessage(try CSVReader.parse(Array("1,2,a\n3,4,\n".utf8), source: "e.csv"), "line 2, column 3", "the label is empty")

        let dir = try TemporaryDirectory()
        let splits = try DataLoader.load(try dir.write("iris.csv", text: "5.1,3.5,virginica\n4.9,3.0,setosa\n"))
        XCTAssertEqual(splits.train.classNames, ["setosa", "virginica"])
        XCTAssertEqual(splits.train.classes, 2)
    }

    /// `--label-column none`: every column is a feature (for `nn predict`); training refuses it.
    func testNoLabelColumnReadsOnlyFeatures() throws {
        let table = try CSVReader.parse(Array("1,2,3\n4,5,6\n".utf8), source: "x.csv", options: CSVOptions(labelColumn: .none))
        XCTAssertEqual(table.width, 3)
        XCTAssertEqual(table.rowCount, 2)
        XCTAssertTrue(table.labels.isEmpty)
        XCTAssertEqual(LabelColumn(parsing: "none"), LabelColumn.none)
        let dir = try TemporaryDirectory()
        let path = try dir.write("x.csv", text: "1,2,3\n4,5,6\n")
        XCTAssertEqual(try DataLoader.loadFeatures(path, options: DataLoadOptions(csv: CSVOptions(labelColumn: .none))).count, 2)
        XCTAssertThrowsMessage(try DataLoader.load(path, options: DataLoadOptions(csv: CSVOptions(labelColumn: .none))), "nn predict")
    }

    func testBadLabelColumnChoices() {
        XCTAssertThrowsMessage(try CSVReader.parse(Array("1,2,0\n".utf8), source: "t", options: CSVOptions(labelColumn: .index(3))),
                               "label column 3 does not exist", "3 columns")
        XCTAssertThrowsMessage(try CSVReader.parse(Array("1,2,0\n".utf8), source: "t", options: CSVOptions(labelColumn: .name("y"))),
                               "no header row")
        XCTAssertThrowsMessage(try CSVReader.parse(Array("a,b\n1,0\n".utf8), source: "t", options: CSVOptions(labelColumn: .name("y"))),
                               "no column named 'y'", "a, b")
    }

    func testEmptyFileAndHeaderOnly() {
        XCTAssertThrowsMessage(try CSVReader.parse([], source: "empty.csv"), "no data rows")
        XCTAssertThrowsMessage(try CSVReader.parse(Array("a,b,label\n".utf8), source: "h.csv"), "no data rows")
    }

    func testGzipCSVAndLabelsOutsideTheClassRange() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("small.csv.gz", Fixture.gzip(Array("1,2,0\n3,4,2\n5,6,1\n".utf8)))
        let splits = try DataLoader.load(path)
        XCTAssertEqual(splits.train.count, 3)
        XCTAssertEqual(splits.train.classes, 3, "inferred as max label + 1")
        XCTAssertNil(splits.test)
        XCTAssertFalse(splits.isImageData, "CSV columns may differ in unit")
        XCTAssertThrowsMessage(try DataLoader.load(path, options: DataLoadOptions(classes: 2)),
                               "label 2", "outside the class range 0..<2")
    }

    func testSeparateTestFileMustMatchWidthAndClasses() throws {
        let dir = try TemporaryDirectory()
        let train = try dir.write("train.csv", text: "1,2,0\n3,4,1\n")
        let goodTest = try dir.write("test.csv", text: "5,6,1\n")
        let splits = try DataLoader.load(train, options: DataLoadOptions(testPath: goodTest))
        XCTAssertEqual(splits.test?.count, 1)
        let wide = try dir.write("wide.csv", text: "5,6,7,1\n")
        XCTAssertThrowsMessage(try DataLoader.load(train, options: DataLoadOptions(testPath: wide)), "3 features", "2")
        let badLabel = try dir.write("bad.csv", text: "5,6,4\n")
        XCTAssertThrowsMessage(try DataLoader.load(train, options: DataLoadOptions(testPath: badLabel)),
                               "label 4", "outside the class range 0..<2")
    }

    func testDigitsFixtureParses() throws {
        let path = Fixture.repositoryRoot + "/Tests/Fixtures/digits.csv"
        let table = try CSVReader.read(path: path)
        XCTAssertEqual(table.labels.count, 1797)
        XCTAssertEqual(table.width, 64)
        XCTAssertEqual(table.features.max(), 16)
        XCTAssertEqual(Set(table.labels), Set(0..<10))
    }
}

final class DatasetAssemblyTests: XCTestCase {
    func testImplausiblyManyInferredClassesAskForConfirmation() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("ids.csv", text: "1,2,0\n3,4,123456\n")
        XCTAssertThrowsMessage(try DataLoader.load(path), "labels go up to 123456", "--label-column", "--classes")
        XCTAssertEqual(try DataLoader.load(path, options: DataLoadOptions(classes: 123_457)).train.classes, 123_457)
    }

    func testNamedSetsRefuseASeparateTestFile() {
        XCTAssertThrowsMessage(try DataLoader.load("digits", options: DataLoadOptions(testPath: "other.csv")), "own test split")
    }
}
