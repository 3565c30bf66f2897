"""Job controller: each Job gets Pods whose single container runs the local program its image maps to
(fixture images.yaml), with the environment resolved by the kubelet's rules. CronJobs are never
scheduled by time; Jobs come only from users (e.g. `kubectl create job --from=cronjob/...`)."""
import copy
import os
import signal
import subprocess
import threading
import time

from .base import Controller, controller_of, now_iso, owner_ref, rand_suffix, set_status
from .kubelet_env import EnvError, resolve_env

RECHECK = 1.0  # seconds between retries of a Pod stuck in CreateContainerConfigError


def container_status(c: dict, state: dict, ready: bool = False, restarts: int = 0) -> dict:
    """A containerStatuses entry."""
    return {"name": c.get("name", ""), "image": c.get("image", ""),
            "imageID": "sandbox://" + c.get("image", ""), "ready": ready, "restartCount": restarts,
            "started": "running" in state, "state": state}


def pod_conditions(ready: bool, scheduled: bool = True) -> list[dict]:
    t = now_iso()
    s = "True" if ready else "False"
    return [{"type": "PodScheduled", "status": "True" if scheduled else "False", "lastTransitionTime": t},
            {"type": "Initialized", "status": "True", "lastTransitionTime": t},
            {"type": "ContainersReady", "status": s, "lastTransitionTime": t},
            {"type": "Ready", "status": s, "lastTransitionTime": t}]


class JobController(Controller):
    """Runs Jobs; see module doc."""

    name = "jobs"
    resync = RECHECK

    def __init__(self, store, ctx):
        super().__init__(store, ctx)
        self.procs: dict[tuple, subprocess.Popen] = {}
        self.started: set[tuple] = set()  # pods whose program was started (or decided)
        self.lock = threading.Lock()
        self._backoff: dict = {}

    # -- keys: ("Job", ns, name)
    def keys_for(self, event, obj):
        kind = obj.get("kind")
        ns, name = obj["metadata"].get("namespace"), obj["metadata"].get("name")
        if kind == "Job":
            return [(ns, name)]
        if kind == "Pod":
            ref = controller_of(obj)
            if event == "DELETED":
                self._kill((ns, name))
            if ref and ref.get("kind") == "Job":
                return [(ns, ref["name"])]
        if kind in ("Secret", "ConfigMap"):
            return self.store.keys("Job", ns, where=lambda j: not self._finished(j))
        return []

    def all_keys(self):
        return self.store.keys("Job", where=lambda j: not self._finished(j))

    @staticmethod
    def _finished(job: dict) -> bool:
        for c in (job.get("status") or {}).get("conditions") or []:
            if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
                return True
        return False

    def _pods(self, job: dict) -> list[dict]:
        uid = job["metadata"]["uid"]
        return [p for p in self.store.list("Pod", job["metadata"].get("namespace"))
                if (controller_of(p) or {}).get("uid") == uid]

    def reconcile(self, key, forced):
        ns, name = key
        job = self.store.get("Job", ns, name)
        if job is None or self._finished(job):
            return
        spec = job.get("spec") or {}
        if spec.get("suspend"):
            return
        pods = self._pods(job)
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                  and not p["metadata"].get("deletionTimestamp")]
        completions = spec.get("completions") or 1
        backoff_limit = spec.get("backoffLimit", 6)
        done, failed_now = succeeded >= completions, failed > backoff_limit
        if not done and not failed_now and not active:
            delay = min(0.5 * (2 ** max(failed - 1, 0)), 4.0) if failed else 0
            if not failed or self._backoff_over(key, delay):
                active = [self._create_pod(job)]
        if failed_now:
            for p in active:
                self.store.delete("Pod", ns, p["metadata"]["name"])
            active = []
        for p in active:
            self._drive_pod(p)

        def upd(o):
            st = o["status"]
            st.setdefault("startTime", now_iso())
            st["active"] = len(active) if not (done or failed_now) else 0
            st["ready"] = 0
            st["terminating"] = 0
            st["uncountedTerminatedPods"] = {}
            if succeeded:
                st["succeeded"] = succeeded
            if failed:
                st["failed"] = failed
            if not st["active"]:
                st.pop("active")
            if done and not self._finished(o):
                t = now_iso()
                st["completionTime"] = t
                st["conditions"] = [
                    {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                     "message": "Reached expected number of succeeded pods",
                     "lastProbeTime": t, "lastTransitionTime": t},
                    {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                     "message": "Reached expected number of succeeded pods",
                     "lastProbeTime": t, "lastTransitionTime": t}]
            elif failed_now and not self._finished(o):
                t = now_iso()
                st["conditions"] = [
                    {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit",
                     "lastProbeTime": t, "lastTransitionTime": t},
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit",
                     "lastProbeTime": t, "lastTransitionTime": t}]
        set_status(self.store, "Job", ns, name, upd)

    def _backoff_over(self, key, delay: float) -> bool:
        due = self._backoff.get(key)
        now = time.monotonic()
        if due is None:
            self._backoff[key] = now + delay
            self.enqueue(key, True, after=delay)
            return False
        if now >= due:
            del self._backoff[key]
            return True
        self.enqueue(key, True, after=due - now)
        return False

    def _create_pod(self, job: dict) -> dict:
        md = job["metadata"]
        tpl = copy.deepcopy((job.get("spec") or {}).get("template") or {})
        labels = dict((tpl.get("metadata") or {}).get("labels") or {})
        labels.update({"batch.kubernetes.io/controller-uid": md["uid"], "batch.kubernetes.io/job-name": md["name"],
                       "controller-uid": md["uid"], "job-name": md["name"]})
        spec = tpl.get("spec") or {}
        spec.setdefault("restartPolicy", "Never")
        spec["nodeName"] = "sandbox-node"
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"{md['name']}-{rand_suffix()}", "namespace": md.get("namespace"),
                            "labels": labels,
                            "annotations": dict((tpl.get("metadata") or {}).get("annotations") or {}),
                            "ownerReferences": [owner_ref(job, "batch/v1")]},
               "spec": spec,
               "status": {"phase": "Pending", "conditions": pod_conditions(False)[:1], "qosClass": "BestEffort"}}
        return self.store.create(pod)

    def _drive_pod(self, pod: dict) -> None:
        """Starts the pod's program, or records why it cannot start yet."""
        ns, name = pod["metadata"].get("namespace"), pod["metadata"]["name"]
        key = (ns, name)
        with self.lock:
            if key in self.started:
                return
        containers = (pod.get("spec") or {}).get("containers") or []
        if not containers:
            return
        c = containers[0]
        program = self.ctx.image_program(c.get("image", ""))
        if program is None:
            self._waiting(pod, c, "ErrImagePull",
                          f'rpc error: code = NotFound desc = failed to pull and unpack image "{c.get("image", "")}": '
                          "not found (no program for this image in the sandbox fixtures' images.yaml)")
            return
        try:
            env = resolve_env(self.store, pod, c)
        except EnvError as e:
            self._waiting(pod, c, "CreateContainerConfigError", str(e))
            return
        with self.lock:
            self.started.add(key)
        fault = None
        if self.ctx.faults is not None:
            fault = self.ctx.faults.take("job", None, c.get("image", ""))
        threading.Thread(target=self._run, args=(pod, c, program, env, fault), daemon=True,
                         name=f"job-pod-{name}").start()

    def _waiting(self, pod, c, reason, message):
        def upd(o):
            st = o["status"]
            cur = (st.get("containerStatuses") or [{}])[0].get("state", {}).get("waiting", {})
            if st.get("phase") == "Pending" and cur.get("reason") == reason and cur.get("message") == message:
                return
            st["phase"] = "Pending"
            st["hostIP"] = st["podIP"] = "127.0.0.1"
            st["conditions"] = pod_conditions(False)
            st.setdefault("startTime", now_iso())
            st["containerStatuses"] = [container_status(c, {"waiting": {"reason": reason, "message": message}})]
        set_status(self.store, "Pod", pod["metadata"].get("namespace"), pod["metadata"]["name"], upd)

    def _run(self, pod, c, program, env, fault):
        ns, name = pod["metadata"].get("namespace"), pod["metadata"]["name"]
        started = now_iso()

        def running(o):
            st = o["status"]
            st.update({"phase": "Running", "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
                       "podIPs": [{"ip": "127.0.0.1"}], "startTime": st.get("startTime") or started})
            st["conditions"] = pod_conditions(True)
            st["containerStatuses"] = [container_status(c, {"running": {"startedAt": started}}, ready=True)]
        set_status(self.store, "Pod", ns, name, running)
        out: list[str] = []
        if fault and str(fault.get("action", "fail")) == "fail":
            out.append(f"sandbox fault injected: container {c.get('name')} failed\n")
            code = 1
        else:
            run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOSTNAME": name}
            run_env.update(env)
            argv = [program] + list(c.get("command") or []) + list(c.get("args") or [])
            try:
                proc = subprocess.Popen(argv, env=run_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        cwd=os.path.dirname(program))
            except OSError as e:
                out.append(f"exec {program}: {e}\n")
                code = 128
                proc = None
            if proc is not None:
                with self.lock:
                    self.procs[(ns, name)] = proc
                for line in iter(proc.stdout.readline, b""):
                    out.append(line.decode("utf-8", errors="replace"))
                    self.store.set_log(ns, name, "".join(out))
                code = proc.wait()
                with self.lock:
                    self.procs.pop((ns, name), None)
                if code < 0:
                    code = 128 - code
        self.store.set_log(ns, name, "".join(out))
        finished = now_iso()

        def done(o):
            st = o["status"]
            st["phase"] = "Succeeded" if code == 0 else "Failed"
            st["conditions"] = pod_conditions(False)
            st["containerStatuses"] = [container_status(c, {"terminated": {
                "exitCode": code, "reason": "Completed" if code == 0 else "Error",
                "startedAt": started, "finishedAt": finished}})]
        set_status(self.store, "Pod", ns, name, done)
        ref = controller_of(pod)
        if ref:
            self.enqueue((ns, ref["name"]), True)

    def _kill(self, key) -> None:
        with self.lock:
            proc = self.procs.get(key)
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def pids(self) -> list[int]:
        with self.lock:
            return [p.pid for p in self.procs.values() if p.poll() is None]

    def stop(self) -> None:
        super().stop()
        with self.lock:
            keys = list(self.procs)
        for k in keys:
            self._kill(k)
        with self.lock:
            procs = list(self.procs.values())
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
