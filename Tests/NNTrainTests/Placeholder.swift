import XCTest
final class NNTrainTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
