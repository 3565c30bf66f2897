import Foundation

/// Waits on what the tests wait for (instead of sleeping for a while): a request the sandbox held
/// for a killed client has been processed; a Service has a Ready backend again.
extension MigrationHarness {
    /// The API server's side of the TCP connections that process `pid` has open to it: the
    /// inodes of the sockets the sandbox daemon serves them on (matched through /proc/net/tcp).
    /// Call it while the process lives, e.g. while the sandbox holds one of its requests.
    func apiServerSockets(of pid: pid_t) -> Set<String> {
        guard let api = (sandboxInfo["ports"] as? [String: Any])?["apiserver"] as? Int else { return [] }
        let mine = Self.socketInodes(of: pid)
        let tcp = Self.tcpSockets()
        let clientPorts = Set(tcp.filter { $0.remote == api && mine.contains($0.inode) }.map(\.local))
        return Set(tcp.filter { $0.local == api && clientPorts.contains($0.remote) }.map(\.inode))
    }

    /// Waits until the sandbox daemon has closed every socket in `inodes`: it keeps a killed
    /// client's connection open while it holds that client's request, and closes it once it has
    /// processed the request and tried to answer. True then; false at the timeout.
    func waitUntilAPIServerClosed(_ inodes: Set<String>, timeout: TimeInterval) -> Bool {
        guard let daemon = sandboxInfo["pid"] as? Int else { return false }
        return eventually(timeout: timeout, every: 0.05) { Self.socketInodes(of: pid_t(daemon)).isDisjoint(with: inodes) }
    }

    /// The inodes of the sockets process `pid` has open (its /proc/PID/fd links `socket:[INODE]`).
    private static func socketInodes(of pid: pid_t) -> Set<String> {
        let dir = "/proc/\(pid)/fd"
        var inodes = Set<String>()
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/\(fd)"),
                  target.hasPrefix("socket:[") else { continue }
            inodes.insert(String(target.dropFirst("socket:[".count).dropLast()))
        }
        return inodes
    }

    /// The TCP sockets of this machine (IPv4 and IPv6) from /proc/net/tcp{,6}: local and remote
    /// port, inode. (Read to the end: `String(contentsOfFile:)` stops after the first page of a /proc file.)
    private static func tcpSockets() -> [(local: Int, remote: Int, inode: String)] {
        func port(_ address: Substring) -> Int? { address.split(separator: ":").last.flatMap { Int($0, radix: 16) } }
        var sockets: [(local: Int, remote: Int, inode: String)] = []
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let handle = FileHandle(forReadingAtPath: file) else { continue }
            let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            try? handle.close()
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                guard f.count > 9, let local = port(f[1]), let remote = port(f[2]) else { continue }
                sockets.append((local, remote, String(f[9])))
            }
        }
        return sockets
    }

    /// Waits until a Pod matching `selector` (a Service's) is Ready and not being deleted: the
    /// Service then has a backend again (the sandbox's Service proxy connects to such a Pod). True
    /// then; false at the timeout.
    func waitForReadyPod(matching selector: [String: String], namespace: String, timeout: TimeInterval) throws -> Bool {
        precondition(!selector.isEmpty, "an empty selector matches every Pod")
        return try eventually(timeout: timeout, every: 0.2) {
            try objects("pods", namespace: namespace).contains { pod in
                let meta = pod["metadata"] as? [String: Any] ?? [:]
                let labels = meta["labels"] as? [String: Any] ?? [:]
                let conditions = (pod["status"] as? [String: Any])?["conditions"] as? [[String: Any]] ?? []
                return meta["deletionTimestamp"] == nil && selector.allSatisfy { labels[$0.key] as? String == $0.value }
                    && conditions.contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" }
            }
        }
    }
}
