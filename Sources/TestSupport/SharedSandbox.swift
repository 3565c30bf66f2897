import Foundation

/// One sandbox shared by the tests of a class:
///
///     static let shared = SharedSandbox(fixtures: ["calibrate-irt"])
///     override class func setUp() { super.setUp(); shared.start() }
///     override class func tearDown() { shared.stop(); super.tearDown() }
///     override func setUpWithError() throws { sb = try Self.shared.get() }
///
/// When the sandbox does not start, `get()` throws the failure (with the sandbox's own output):
/// each test of the class fails with it, and the other classes still run.
public final class SharedSandbox: @unchecked Sendable {
    public let fixtures: [String]
    private let lock = NSLock()
    private var sandbox: Sandbox?
    private var failure: Error?

    public init(fixtures: [String]) { self.fixtures = fixtures }

    /// Starts the sandbox (call from `class func setUp`); a failure is kept for `get()`.
    public func start() {
        let result = Result { try Sandbox.up(fixtures: fixtures) }
        lock.lock(); defer { lock.unlock() }
        switch result {
        case .success(let s): sandbox = s; failure = nil
        case .failure(let e): sandbox = nil; failure = e
        }
    }

    /// The running sandbox, or the reason it is not running.
    public func get() throws -> Sandbox {
        lock.lock(); defer { lock.unlock() }
        if let sandbox { return sandbox }
        throw failure ?? Sandbox.Failure.command("sandbox up", -1, "SharedSandbox.start() was not called in class setUp")
    }

    /// Stops the sandbox (call from `class func tearDown`).
    public func stop() {
        lock.lock(); let s = sandbox; sandbox = nil; lock.unlock()
        s?.down()
    }
}
