import Foundation

/// Whether a Deployment, StatefulSet or DaemonSet has finished rolling out, judged as
/// `kubectl rollout status` judges it (same tests, same messages).
enum RolloutStatus: Equatable, Sendable {
    case done(String)
    case waiting(String)
    /// A rollout that will not finish by waiting (`ProgressDeadlineExceeded`, a strategy that
    /// cannot be followed).
    case failed(String)

    var message: String {
        switch self {
        case .done(let m), .waiting(let m), .failed(let m): return m
        }
    }

    static func of(_ o: Value) -> RolloutStatus {
        let kind = o["kind"]?.stringValue ?? ""
        let name = o.lookup("metadata.name")?.stringValue ?? ""
        let generation = o.lookup("metadata.generation")?.intValue ?? 0
        let observed = o.lookup("status.observedGeneration")?.intValue ?? 0
        func int(_ path: String, _ d: Int = 0) -> Int { o.lookup(path)?.intValue ?? d }
        switch kind {
        case "Deployment":
            if observed < generation { return .waiting("Waiting for deployment spec update to be observed...") }
            let progressing = (o.lookup("status.conditions")?.arrayValue ?? []).first { $0["type"] == "Progressing" }
            if let c = progressing, c["reason"] == "ProgressDeadlineExceeded" {
                let detail = c["message"]?.stringValue.map { ": \($0)" } ?? ""
                return .failed("deployment \"\(name)\" exceeded its progress deadline\(detail)")
            }
            let replicas = int("spec.replicas", 1), updated = int("status.updatedReplicas")
            let total = int("status.replicas"), available = int("status.availableReplicas")
            let lead = "Waiting for deployment \"\(name)\" rollout to finish: "
            if updated < replicas { return .waiting(lead + "\(updated) out of \(replicas) new replicas have been updated...") }
            if total > updated { return .waiting(lead + "\(total - updated) old replicas are pending termination...") }
            if available < updated { return .waiting(lead + "\(available) of \(updated) updated replicas are available...") }
            return .done("deployment \"\(name)\" successfully rolled out")
        case "StatefulSet":
            if let t = o.lookup("spec.updateStrategy.type")?.stringValue, t != "RollingUpdate" {
                return .failed("rollout status is only available for RollingUpdate strategy type")
            }
            if observed < generation { return .waiting("Waiting for statefulset spec update to be observed...") }
            let replicas = int("spec.replicas", 1), ready = int("status.readyReplicas"), updated = int("status.updatedReplicas")
            if ready < replicas { return .waiting("Waiting for \(replicas - ready) pods to be ready...") }
            let partition = int("spec.updateStrategy.rollingUpdate.partition")
            if partition > 0 {
                if updated < replicas - partition {
                    return .waiting("Waiting for partitioned roll out to finish: \(updated) out of \(replicas - partition) new pods have been updated...")
                }
                return .done("partitioned roll out complete: \(updated) new pods have been updated...")
            }
            let update = o.lookup("status.updateRevision")?.stringValue ?? ""
            let current = o.lookup("status.currentRevision")?.stringValue ?? ""
            if update != current {
                return .waiting("waiting for statefulset rolling update to complete \(updated) pods at revision \(update)...")
            }
            return .done("statefulset rolling update complete \(int("status.currentReplicas")) pods at revision \(current)...")
        case "DaemonSet":
            if let t = o.lookup("spec.updateStrategy.type")?.stringValue, t != "RollingUpdate" {
                return .failed("rollout status is only available for RollingUpdate strategy type")
            }
            if observed < generation { return .waiting("Waiting for daemon set spec update to be observed...") }
            let desired = int("status.desiredNumberScheduled"), updated = int("status.updatedNumberScheduled")
            let available = int("status.numberAvailable")
            let lead = "Waiting for daemon set \"\(name)\" rollout to finish: "
            if updated < desired { return .waiting(lead + "\(updated) out of \(desired) new pods have been updated...") }
            if available < desired { return .waiting(lead + "\(available) of \(desired) updated pods are available...") }
            return .done("daemon set \"\(name)\" successfully rolled out")
        default:
            return .failed("rollout status is not available for \(kind)")
        }
    }
}
