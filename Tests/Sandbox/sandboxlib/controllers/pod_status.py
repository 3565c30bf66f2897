"""What the sandbox's "kubelet" writes into a Pod's status: unschedulable, waiting (with a reason),
running (ready or not), crashed (CrashLoopBackOff with the last termination)."""

from .base import now_iso, set_status
from .jobs import container_status, pod_conditions


def _key(pod):
    return pod["metadata"].get("namespace"), pod["metadata"]["name"]


def unschedulable(store, pod, msg):
    def upd(o):
        st = o["status"]
        cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": f"0/1 nodes are available: {msg}. preemption: 0/1 nodes are available."}
        cur = (st.get("conditions") or [{}])[0]
        if cur.get("message") != cond["message"]:
            st["phase"] = "Pending"
            st["conditions"] = [dict(cond, lastTransitionTime=now_iso(), lastProbeTime=None)]
    set_status(store, "Pod", *_key(pod), upd)


def waiting(store, pod, c, reason, message):
    def upd(o):
        st = o["status"]
        cur = (st.get("containerStatuses") or [{}])[0].get("state", {}).get("waiting", {})
        if cur.get("reason") == reason and cur.get("message") == message:
            return
        st.update({"phase": "Pending", "hostIP": "127.0.0.1", "podIP": "127.0.0.1"})
        st.setdefault("startTime", now_iso())
        st["conditions"] = pod_conditions(False)
        st["containerStatuses"] = [container_status(c, {"waiting": {"reason": reason, "message": message}})]
    set_status(store, "Pod", *_key(pod), upd)


def running(store, pod, c, ready: bool, started: str):
    def upd(o):
        st = o["status"]
        st.update({"phase": "Running", "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
                   "podIPs": [{"ip": "127.0.0.1"}]})
        st.setdefault("startTime", started)
        st["conditions"] = pod_conditions(ready)
        st["containerStatuses"] = [container_status(c, {"running": {"startedAt": started}}, ready=ready)]
    set_status(store, "Pod", *_key(pod), upd)


def crash_looping(store, ns, name, c):
    t = now_iso()

    def upd(o):
        st = o["status"]
        st.update({"phase": "Running", "hostIP": "127.0.0.1", "podIP": "127.0.0.1"})
        st["conditions"] = pod_conditions(False)
        restarts = ((st.get("containerStatuses") or [{}])[0].get("restartCount") or 0) + 1
        st["containerStatuses"] = [dict(container_status(
            c, {"waiting": {"reason": "CrashLoopBackOff",
                            "message": f"back-off 10s restarting failed container={c.get('name')} pod={name}"}},
            restarts=restarts), lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": t}})]
    set_status(store, "Pod", ns, name, upd)
