import Foundation

/// A value kept for each test class (each subclass of a shared base class has its own), behind a
/// lock: XCTest calls class and test methods from whichever thread it likes.
final class PerClass<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [ObjectIdentifier: Value] = [:]

    /// The class's value, made by `make` the first time it is asked for.
    func value(for type: AnyClass, orMake make: () -> Value) -> Value {
        lock.lock(); defer { lock.unlock() }
        if let v = values[ObjectIdentifier(type)] { return v }
        let v = make()
        values[ObjectIdentifier(type)] = v
        return v
    }

    /// The class's value, if it has one.
    func value(for type: AnyClass) -> Value? {
        lock.lock(); defer { lock.unlock() }
        return values[ObjectIdentifier(type)]
    }

    /// Sets the class's value (nil removes it); returns the one it had.
    @discardableResult
    func replace(for type: AnyClass, with value: Value?) -> Value? {
        lock.lock(); defer { lock.unlock() }
        let old = values[ObjectIdentifier(type)]
        values[ObjectIdentifier(type)] = value
        return old
    }
}
