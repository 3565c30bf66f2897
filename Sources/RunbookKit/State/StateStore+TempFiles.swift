import Foundation

extension StateStore {
    /// Removes the `.NAME.tmp-<pid>` files that writers killed between writing a checkpoint's temp
    /// file and renaming it left in the run's directory (`DurableFile.replace`). Only files of
    /// processes that are gone: called with the run's lock held. Returns the names removed.
    @discardableResult
    public func removeStaleTempFiles(_ runID: String) -> [String] {
        let dir = runDirectory(runID)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        var removed: [String] = []
        for name in names where name.hasPrefix(".") {
            guard let range = name.range(of: ".tmp-", options: .backwards),
                  let pid = Int32(name[range.upperBound...]), pid > 0, pid != getpid() else { continue }
            let alive = kill(pid, 0) == 0 || errno == EPERM
            if alive && !RunProcess.isZombie(pid) { continue }
            if unlink(dir.appendingPathComponent(name).path) == 0 { removed.append(name) }
        }
        return removed
    }
}
