import Foundation
import XCTest
import NNBackends
import NNCore

enum ExtensionBackends {
    /// The OpenCL backend; under CI=true its absence fails the test (never a skip), as everywhere.
    static func openCL() throws -> any Backend {
        do {
            return try BackendSelection.make(.opencl, log: { _ in })
        } catch {
            XCTFail("OpenCL backend unavailable: \(error); the extension tests run on both backends")
            throw error
        }
    }
}
