import NNCore
import XCTest

final class ShapeTensorTests: XCTestCase {
    func testShapeBasics() {
        let s = Shape(7, 13)
        XCTAssertEqual(s.rows, 7)
        XCTAssertEqual(s.columns, 13)
        XCTAssertEqual(s.count, 91)
        XCTAssertEqual(s.description, "7×13")
        XCTAssertEqual(Shape.vector(5), Shape(1, 5))
        XCTAssertEqual(Shape.scalar, Shape(1, 1))
        XCTAssertEqual(Shape(0, 3).count, 0)
        XCTAssertNotEqual(Shape(2, 3), Shape(3, 2))
        XCTAssertEqual(Set([Shape(2, 3), Shape(2, 3), Shape(3, 2)]).count, 2)
    }

    func testTensorReshapeSharesStorage() throws {
        let storage = DummyStorage(backendName: "test")
        let t = Tensor(shape: Shape(4, 6), storage: storage)
        XCTAssertEqual(t.count, 24)
        XCTAssertEqual(t.rows, 4)
        XCTAssertEqual(t.columns, 6)
        let r = try t.reshaped(Shape(3, 8))
        XCTAssertEqual(r.shape, Shape(3, 8))
        XCTAssert(r.storage === storage, "reshape must not copy")
        XCTAssertEqual(t.description, "Tensor(4×6, test)")
    }

    func testReshapeToDifferentCountThrows() {
        let t = Tensor(shape: Shape(4, 6), storage: DummyStorage(backendName: "test"))
        XCTAssertThrowsError(try t.reshaped(Shape(5, 5))) { error in
            guard case let NNError.shapeMismatch(op, detail) = error else {
                return XCTFail("expected shapeMismatch, got \(error)")
            }
            XCTAssertEqual(op, "reshape")
            XCTAssert(detail.contains("4×6") && detail.contains("5×5"), detail)
        }
    }
}

@available(*, deprecated, message: "tests the deprecated BackendKind shim; BackendRequest is tested in NNBackendsTests")
final class BackendKindTests: XCTestCase {
    func testParsesEveryKindCaseInsensitively() throws {
        for kind in BackendKind.allCases {
            XCTAssertEqual(try BackendKind(parsing: kind.rawValue), kind)
            XCTAssertEqual(try BackendKind(parsing: kind.rawValue.uppercased()), kind)
            XCTAssertEqual(kind.description, kind.rawValue)
        }
        XCTAssertEqual(try BackendKind(parsing: "OpenCL"), .opencl)
        XCTAssertEqual(BackendKind.environmentVariable, "NN_BACKEND")
    }

    func testRejectsUnknownNamesWithTheChoices() {
        for text in ["cuda", "", " native", "open-cl"] {
            XCTAssertThrowsError(try BackendKind(parsing: text), "'\(text)'") { error in
                guard case let NNError.invalidArgument(op, detail) = error else {
                    return XCTFail("expected invalidArgument, got \(error)")
                }
                XCTAssertEqual(op, "backend selection")
                XCTAssert(detail.contains("opencl, native, auto"), detail)
                XCTAssert(detail.contains("NN_BACKEND"), detail)
            }
        }
    }
}

final class NNErrorTests: XCTestCase {
    func testDescriptionsNameTheOpAndTheFix() {
        XCTAssertEqual(NNError.emptyTensor(op: "gemm", shape: Shape(0, 3)).description,
                       "gemm: tensor of shape 0×3 is empty; every op needs at least one element")
        let foreign = NNError.foreignTensor(op: "copy", expected: "opencl", found: "native").description
        XCTAssert(foreign.hasPrefix("copy: tensor belongs to the native backend but the op runs on opencl"), foreign)
        XCTAssert(foreign.contains("create tensors with the backend that uses them"), foreign)
        XCTAssertEqual(NNError.backendUnavailable(backend: "opencl", reason: "no platform").description,
                       "opencl backend unavailable: no platform")
        XCTAssertEqual(NNError.deviceFailure(call: "clFinish", detail: "CL_OUT_OF_RESOURCES (-5)").description,
                       "clFinish failed: CL_OUT_OF_RESOURCES (-5)")
    }
}
