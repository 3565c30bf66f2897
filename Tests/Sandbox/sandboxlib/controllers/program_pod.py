"""A Pod of any other image: its images.yaml program (long running; env PORT = a loopback port for
the first containerPort), Ready once that port accepts connections; with no mapping a "pause" Pod
that is Ready and serves nothing. Image pulls and readiness probes: kubelet_http.py."""
import os
import socket
import subprocess
import time

from .. import pgserver
from . import kubelet_http, pod_status
from .base import now_iso
from .pod_runtime import PodRuntime, PodRuntimes


def run(runtimes: PodRuntimes, rt: PodRuntime, pod, c, env, claims, fault):
    """Runs on the Pod's own thread."""
    store, ctx = runtimes.store, runtimes.ctx
    ns, name = rt.key
    started = now_iso()
    if fault:
        pod_status.running(store, pod, c, False, started)
        return
    pull = kubelet_http.pull_error(ctx, c.get("image", ""))
    if pull:
        return kubelet_http.back_off(store, rt, pod, c, pull)
    program = ctx.image_program(c.get("image", ""))
    if program is None:
        pod_status.running(store, pod, c, True, started)  # a "pause" container: Ready, serves nothing
        return
    ports = [p for p in c.get("ports") or [] if p.get("containerPort")]
    hport = pgserver.free_port()
    run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOSTNAME": name, "PORT": str(hport)}
    run_env.update(env)
    logf = os.path.join(ctx.sandbox_dir, "logs", f"pod-{ns}-{name}.log")
    os.makedirs(os.path.dirname(logf), exist_ok=True)
    with open(logf, "wb") as out:
        proc = subprocess.Popen([program] + list(c.get("command") or []) + list(c.get("args") or []),
                                env=run_env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=os.path.dirname(program))
    if not runtimes.attach(rt, proc=proc):
        return
    pod_status.running(store, pod, c, False, started)
    deadline = time.monotonic() + 30
    while ports and time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", hport), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    if proc.poll() is not None:
        with open(logf, errors="replace") as f:
            runtimes.crashed(rt, pod, c, f.read())
        return
    if not kubelet_http.probe_ready(c, hport, lambda: proc.poll() is None and not rt.stopped):
        if not rt.stopped:
            with open(logf, errors="replace") as f:
                runtimes.crashed(rt, pod, c, f.read())
        return
    eps = {}
    if ports:
        eps = {ports[0]["containerPort"]: hport}
        if ports[0].get("name"):
            eps[ports[0]["name"]] = hport
    runtimes.publish(rt, eps)
    with open(logf, errors="replace") as f:
        store.set_log(ns, name, f.read())
    pod_status.running(store, pod, c, True, started)
    runtimes.notify()
