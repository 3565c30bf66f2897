import Foundation

/// A fresh directory under the system temporary directory for one test's files:
///
///     override func setUpWithError() throws { work = try ScratchDirectory.make("kube-e2e") }
///     override func tearDown() { ScratchDirectory.remove(work) }
public enum ScratchDirectory {
    /// Creates `<tmp>/<prefix>-<8 characters of a UUID>` and returns it.
    public static func make(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Removes a directory made by `make` with all it holds; nothing when `url` is nil or already gone.
    public static func remove(_ url: URL?) {
        if let url { try? FileManager.default.removeItem(at: url) }
    }
}
