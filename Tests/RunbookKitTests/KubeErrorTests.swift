import Foundation
@testable import RunbookKit
import XCTest

final class KubeErrorTests: XCTestCase {
    func testInvalidStatusCarriesReasonAndCauses() {
        let body = #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Deployment.apps \"x\" is invalid","reason":"Invalid","details":{"causes":[{"reason":"FieldValueInvalid","message":"Invalid value: -1: must be greater than or equal to 0","field":"spec.replicas"}]},"code":422}"#
        let e = KubeError.from(HTTPResponse(status: 422, body: Data(body.utf8)), request: "PUT /apis/apps/v1/namespaces/a/deployments/x")
        XCTAssertEqual(e.errorDescription, #"PUT /apis/apps/v1/namespaces/a/deployments/x: Invalid (422): Deployment.apps "x" is invalid; spec.replicas: Invalid value: -1: must be greater than or equal to 0"#)
        XCTAssertFalse(e.isTransient)
        // The engine sees it as a permanent failure: not retried under `retry:`.
        XCTAssertFalse((e as any RetryableError).isTransient)
    }

    func testTransientClassification() {
        let conflict = KubeError.from(HTTPResponse(status: 409, body: Data(#"{"kind":"Status","reason":"Conflict","message":"the object has been modified"}"#.utf8)), request: "PUT /x")
        XCTAssertTrue(conflict.isConflict && conflict.isTransient)
        let exists = KubeError.from(HTTPResponse(status: 409, body: Data(#"{"kind":"Status","reason":"AlreadyExists","message":"exists"}"#.utf8)), request: "POST /x")
        XCTAssertTrue(exists.isAlreadyExists && !exists.isTransient)
        XCTAssertTrue(KubeError.from(HTTPResponse(status: 503, body: Data("busy".utf8)), request: "GET /x").isTransient)
        let forbidden = KubeError.from(HTTPResponse(status: 403, body: Data()), request: "PATCH /x")
        XCTAssertEqual(forbidden.reason, "Forbidden")
        XCTAssertTrue(forbidden.errorDescription!.contains("lacks this permission"))
        // Throttling is transient for the engine: retried under a step's `retry:`.
        XCTAssertTrue((KubeError.from(HTTPResponse(status: 429), request: "GET /x") as any RetryableError).isTransient)
    }
}
