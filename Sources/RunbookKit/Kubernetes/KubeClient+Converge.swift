import Foundation

extension KubeClient {
    /// A create that converges. Every call retries transient faults, and a POST whose answer was
    /// lost after the server committed it (a 503 or a reset after the write) is retried into a
    /// 409 AlreadyExists: then the live object is read, and when `isOurs` recognises it as the
    /// one this create made (by the run-id annotation or label, or by content) it is returned as
    /// if the first answer had arrived. An object that is not ours keeps the 409.
    public func createConverging(_ object: Value, isOurs: (Value) -> Bool) async throws -> Value {
        do {
            return try await create(object)
        } catch let e as KubeError where e.isAlreadyExists {
            let ref = try ObjectRef(object: object, defaultNamespace: defaultNamespace)
            if let live = try await get(ref), isOurs(live) { return live }
            throw e
        }
    }
}
