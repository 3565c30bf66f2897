import TestSupport
import XCTest

extension Sandbox {
    /// kubectl's stdout, for a call the test expects to succeed: a non-zero exit fails the test at
    /// `file`:`line` with the command and kubectl's stderr.
    func kubectlSucceeding(_ args: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try kubectl(args, stdin: stdin)
        XCTAssertEqual(r.status, 0, "kubectl \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r.stdout
    }
}
