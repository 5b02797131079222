import XCTest
final class NNCoreTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
