import Foundation
import XCTest
@testable import RunbookKit

/// The pure parts of `file.write`: the secret refusal rule, the line diff, modes, atomic writes.
final class FileWriteTests: XCTestCase {
    func testContainsSecretCountsWholeWordsAndLongSecretsAnywhere() {
        let m = Masker()
        m.add("observer")
        m.add("observer-sandbox-pw")
        XCTAssertFalse(m.containsSecret("namespace: observer-prod\nname: observer-secrets\n"), "a word inside a name")
        XCTAssertFalse(m.containsSecret("file: observer_backup.yaml"))
        XCTAssertTrue(m.containsSecret("POSTGRES_USER: observer\n"), "the value on its own")
        XCTAssertTrue(m.containsSecret("dsn: postgres://observer:x@db/app"), "between separators")
        XCTAssertTrue(m.containsSecret("observer"))
        XCTAssertTrue(m.containsSecret("pw=xobserver-sandbox-pwx"), "12+ characters count inside a word too")
        XCTAssertTrue(m.containsSecret("data: b2JzZXJ2ZXI=\n"), "base64, padded")
        XCTAssertTrue(m.containsSecret("data: b2JzZXJ2ZXI\n"), "base64, unpadded")
        XCTAssertTrue(m.containsSecret("b2JzZXJ2ZXItc2FuZGJveC1wdw=="), "base64 of the long one")
        XCTAssertFalse(m.containsSecret("AgB1b2JzZXJ2ZXIx"), "a base64 form inside a longer token (short secret)")
        XCTAssertFalse(Masker().containsSecret("anything"), "no secrets registered")
    }

    func testLineDiffShowsChangesWithContext() {
        XCTAssertEqual(LineDiff.render(old: "a\nb\n", new: "a\nb\n"), "")
        XCTAssertEqual(LineDiff.render(old: "", new: "x\ny\n"), "+ x\n+ y")
        XCTAssertEqual(LineDiff.render(old: "1\n2\n3\n4\n5\n6\n7\n", new: "1\n2\n3\nfour\n5\n6\n7\n"),
                       "  …\n  2\n  3\n- 4\n+ four\n  5\n  6\n  …")
        XCTAssertEqual(LineDiff.render(old: "a\nb\nc\nd\ne\nf\ng\nh\n", new: "A\nb\nc\nd\ne\nf\ng\nH\n"),
                       "- a\n+ A\n  b\n  c\n  …\n  f\n  g\n- h\n+ H")
        let big = (0..<4000).map(String.init).joined(separator: "\n")
        XCTAssertEqual(LineDiff.render(old: big, new: big + "\nx"), "(4000 lines → 4001 lines; too long to show line by line)")
    }

    func testModes() {
        XCTAssertEqual(FileMode.parse("0644"), 0o644)
        XCTAssertEqual(FileMode.parse("600"), 0o600)
        XCTAssertEqual(FileMode.parse("0o755"), 0o755)
        XCTAssertEqual(FileMode.parse(.int(644)), 0o644)
        XCTAssertNil(FileMode.parse("0648"))
        XCTAssertNil(FileMode.parse("rw-r--r--"))
        XCTAssertNil(FileMode.parse("77777"))
        XCTAssertEqual(FileMode.show(0o640), "0640")
    }

    func testAtomicWriteReplaceAndRemove() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("m.yaml")
        XCTAssertNil(try AtomicFile.read(f))
        try AtomicFile.write(Data("one\n".utf8), mode: 0o640, to: f)
        XCTAssertEqual(try AtomicFile.read(f), AtomicFile.Snapshot(content: Data("one\n".utf8), mode: 0o640))
        try AtomicFile.write(Data("two\n".utf8), mode: 0o644, to: f)
        XCTAssertEqual(try AtomicFile.read(f), AtomicFile.Snapshot(content: Data("two\n".utf8), mode: 0o644))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["m.yaml"], "no temporary file is left")
        try AtomicFile.remove(f)
        try AtomicFile.remove(f)
        XCTAssertNil(try AtomicFile.read(f))
        XCTAssertThrowsError(try AtomicFile.write(Data(), mode: 0o644, to: dir.appendingPathComponent("no/such/dir"))) {
            XCTAssertTrue(($0 as? LocalizedError)?.errorDescription?.contains("No such file or directory") == true, "\($0)")
        }
    }
}
