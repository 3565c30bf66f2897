import Foundation

/// Polls `condition` every `interval` seconds until it holds (true) or `timeout` seconds have
/// passed (false): the one waiting loop of the end-to-end tests, which wait on state, never for a
/// fixed while. The condition is checked at least once, and once more at the deadline.
func eventually(timeout: TimeInterval, every interval: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: interval)
    }
}
