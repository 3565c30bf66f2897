import Foundation

/// The cluster lock of one runbook: a `coordination.k8s.io/v1` Lease named after the runbook in
/// the runs namespace, as client-go's leader election uses them. `holderIdentity` names the run,
/// user, host and pid; a background task renews it every `duration / 3`; every write carries the
/// resourceVersion read, so two processes can never both take it.
public final class ClusterLease: @unchecked Sendable {
    public static let duration = 30
    public let client: KubeClient
    public let namespace: String
    public let name: String
    public let runbook: String
    public let holder: String
    private let lock = NSLock()
    private var object: Value
    private var lostReason: String?
    private var renewer: Task<Void, Never>?
    private var lastRenew = Date()

    private init(client: KubeClient, namespace: String, runbook: String, holder: String, object: Value) {
        self.client = client
        self.namespace = namespace
        self.name = ClusterLease.leaseName(runbook)
        self.runbook = runbook
        self.holder = holder
        self.object = object
    }

    public static func leaseName(_ runbook: String) -> String { KubeName.subdomain(runbook) }

    /// `<run-id> <user>@<host> pid <pid>`: the run id is the first word.
    public static func identity(runID: String) -> String { "\(runID) \(Identity.userAtHost) pid \(getpid())" }

    /// Why the lock is no longer ours (taken by someone else, or not renewed in time), else nil.
    public var lost: String? {
        lock.withLock {
            if let lostReason { return lostReason }
            let age = Date().timeIntervalSince(lastRenew)
            return age > Double(ClusterLease.duration) ? "not renewed for \(Int(age)) s" : nil
        }
    }

    /// The holder of a Lease that is not ours, for the take-over decision: `expired` when it stopped
    /// renewing; otherwise only a holder whose process is known to be gone may be taken over.
    public struct ExpiredHolder: Sendable {
        public let identity: String
        public let expired: Bool
        public var runID: String { String(identity.split(separator: " ").first ?? "") }
        /// The pid in `<run-id> <user>@<host> pid <pid>`, when the identity has one.
        public var pid: Int32? {
            let words = identity.split(separator: " ")
            guard words.count >= 4, words[words.count - 2] == "pid" else { return nil }
            return Int32(words[words.count - 1])
        }
    }

    /// Takes the Lease (creating the namespace and the Lease on first use). A Lease held and renewed
    /// by someone else → `TeamError.leaseHeld`. An expired one is taken over only when `mayTakeOver`
    /// agrees (it checks the holder's run record).
    public static func acquire(client: KubeClient, namespace: String, runbook: String, runID: String,
                               mayTakeOver: (ExpiredHolder) async throws -> Bool) async throws -> ClusterLease
    {
        let holder = identity(runID: runID)
        let name = leaseName(runbook)
        let collection = "/apis/coordination.k8s.io/v1/namespaces/\(namespace.urlPathEscaped)/leases"
        let what = "the Lease \(namespace)/\(name)"
        for _ in 0..<5 {
            let r = try await client.raw("GET", "\(collection)/\(name.urlPathEscaped)")
            let now = Date()
            if r.status == 404 {
                let lease: Value = [
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": ["name": .string(name), "namespace": .string(namespace),
                                 "labels": .object(Object([.init(key: RunRecords.runbookLabel, value: .string(KubeName.labelValue(runbook) ?? name))]))],
                    "spec": spec(holder: holder, acquired: now, transitions: 0),
                ]
                var c = try await client.raw("POST", collection, body: lease.jsonData())
                if c.status == 404 {
                    try await ensureNamespace(client: client, namespace: namespace)
                    c = try await client.raw("POST", collection, body: lease.jsonData())
                }
                if c.status == 409 { continue }  // created by someone else meanwhile: look again
                try check(c, what: what)
                return started(client, namespace, runbook, holder, try Value.parseJSON(c.body))
            }
            try check(r, what: what)
            var current = try Value.parseJSON(r.body)
            let spec = current["spec"] ?? .object(Object())
            let owner = spec["holderIdentity"]?.stringValue ?? ""
            let renewed = (spec["renewTime"]?.stringValue).flatMap(ClusterLease.parseMicroTime) ?? .distantPast
            let ttl = Double(spec["leaseDurationSeconds"]?.intValue ?? duration)
            if !owner.isEmpty, owner != holder {
                let age = max(0, Int(now.timeIntervalSince(renewed)))
                guard try await mayTakeOver(ExpiredHolder(identity: owner, expired: now.timeIntervalSince(renewed) >= ttl)) else {
                    throw TeamError.leaseHeld(runbook: runbook, holder: owner, renewed: "\(age) s ago")
                }
            }
            let transitions = (spec["leaseTransitions"]?.intValue ?? 0) + (owner == holder ? 0 : 1)
            current["spec"] = ClusterLease.spec(holder: holder, acquired: now, transitions: transitions)
            let u = try await client.raw("PUT", "\(collection)/\(name.urlPathEscaped)", body: current.jsonData())
            if u.status == 409 { continue }  // changed under us: decide again on the new state
            try check(u, what: what)
            return started(client, namespace, runbook, holder, try Value.parseJSON(u.body))
        }
        throw TeamError.leaseHeld(runbook: runbook, holder: "another process changing it", renewed: "just now")
    }

    private static func started(_ client: KubeClient, _ ns: String, _ runbook: String, _ holder: String, _ obj: Value) -> ClusterLease {
        let l = ClusterLease(client: client, namespace: ns, runbook: runbook, holder: holder, object: obj)
        l.startRenewing()
        return l
    }

    static func spec(holder: String, acquired: Date, transitions: Int) -> Value {
        ["holderIdentity": .string(holder), "leaseDurationSeconds": .int(duration),
         "acquireTime": .string(microTime(acquired)), "renewTime": .string(microTime(acquired)),
         "leaseTransitions": .int(transitions)]
    }

    /// Kubernetes MicroTime: `2006-01-02T15:04:05.000000Z`.
    static func microTime(_ d: Date) -> String {
        let ms = Timestamp.format(d)   // …ss.mmmZ
        return String(ms.dropLast()) + "000Z"
    }

    /// Reads a MicroTime or Time (`…05Z`, `…05.123456Z`).
    static func parseMicroTime(_ s: String) -> Date? {
        let body = s.hasSuffix("Z") ? String(s.dropLast()) : s
        let parts = body.split(separator: ".", maxSplits: 1)
        guard let base = Timestamp.parse(String(parts[0]) + ".000Z") else { return nil }
        guard parts.count == 2, let frac = Double("0." + parts[1]) else { return base }
        return base.addingTimeInterval(frac)
    }

    private static func check(_ r: HTTPResponse, what: String) throws {
        guard !(200..<300).contains(r.status) else { return }
        let e = KubeError.from(r, request: what)
        if r.status == 401 || r.status == 403 { throw TeamError.forbidden(what: what, reason: e.errorDescription ?? "") }
        throw e
    }

    static func ensureNamespace(client: KubeClient, namespace: String) async throws {
        let ns: Value = ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(namespace)]]
        let r = try await client.raw("POST", "/api/v1/namespaces", body: ns.jsonData())
        guard (200..<300).contains(r.status) || r.status == 409 else {
            throw TeamError.namespaceUnavailable(namespace: namespace, reason: KubeError.from(r, request: "POST namespace").errorDescription ?? "")
        }
    }

    // MARK: renewal

    private var path: String { "/apis/coordination.k8s.io/v1/namespaces/\(namespace.urlPathEscaped)/leases/\(name.urlPathEscaped)" }

    private func startRenewing() {
        renewer = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(ClusterLease.duration) * 1_000_000_000 / 3)
                guard !Task.isCancelled, let self else { return }
                await self.renew()
            }
        }
    }

    /// One renewal: PUT renewTime with the resourceVersion last seen. A conflict or another
    /// holder means the lock is lost; other failures are retried at the next tick.
    func renew() async {
        var obj = lock.withLock { object }
        obj["spec"]?["renewTime"] = .string(ClusterLease.microTime(Date()))
        guard let r = try? await client.raw("PUT", path, body: obj.jsonData()) else { return }
        if (200..<300).contains(r.status), let v = try? Value.parseJSON(r.body) {
            lock.withLock {
                object = v
                lastRenew = Date()
            }
        } else if r.status == 409 || r.status == 404 {
            lock.withLock { lostReason = r.status == 404 ? "the Lease was deleted" : "another process changed the Lease" }
        }
    }

    /// Stops renewing and releases the Lease (holder cleared, as client-go does on release).
    public func release() async {
        renewer?.cancel()
        renewer = nil
        guard lock.withLock({ lostReason }) == nil else { return }
        var obj = lock.withLock { object }
        obj["spec"]?["holderIdentity"] = .string("")
        obj["spec"]?["leaseDurationSeconds"] = .int(1)
        obj["spec"]?["renewTime"] = .string(ClusterLease.microTime(Date()))
        _ = try? await client.raw("PUT", path, body: obj.jsonData())
    }
}
