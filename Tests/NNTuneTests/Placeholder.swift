import XCTest
final class NNTuneTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
