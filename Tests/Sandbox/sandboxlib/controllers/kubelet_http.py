"""What the kubelet does around a long-running container's program: pulling its image (an image of
a repository the fixture knows, with a tag it does not map, fails `ErrImagePull` then
`ImagePullBackOff`, as a missing tag in a real registry) and judging readiness from the
container's `readinessProbe` (`httpGet` with its path, port and `httpHeaders`; `tcpSocket` = the
port accepts; `exec` is not run and counts as success)."""
import http.client
import time

from . import pod_status

PROBE_PERIOD = 0.2   # seconds between probes (the sandbox compresses periodSeconds)


def repository(image: str) -> str:
    """`registry/path/name` of an image reference, without tag or digest."""
    image = image.split("@", 1)[0]
    head, _, last = image.rpartition("/")
    return (head + "/" if head else "") + last.split(":", 1)[0]


def pull_error(ctx, image: str) -> str | None:
    """The kubelet's ErrImagePull message when `image` cannot be pulled, else None. Images of a
    repository that no fixture maps are pulled (they run as "pause" containers)."""
    if ctx.image_program(image) is not None:
        return None
    repo = repository(image)
    if not any(repository(prefix) == repo or prefix.startswith(repo + ":") for prefix in ctx.image_prefixes()):
        return None
    return (f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": failed to resolve '
            f'reference "{image}": {image}: not found')


def back_off(store, rt, pod: dict, c: dict, message: str) -> None:
    """ErrImagePull, then (a second later) ImagePullBackOff for as long as the Pod exists."""
    pod_status.waiting(store, pod, c, "ErrImagePull", message)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and not rt.stopped:
        time.sleep(0.1)
    if not rt.stopped:
        pod_status.waiting(store, pod, c, "ImagePullBackOff", f'Back-off pulling image "{c.get("image", "")}"')


def probe_ready(c: dict, host_port: int, alive) -> bool:
    """Runs the readiness probe against the program on `host_port` until it succeeds (True) or
    `alive()` turns False (False)."""
    probe = c.get("readinessProbe") or {}
    get = probe.get("httpGet")
    if not get:
        return alive()
    path = get.get("path") or "/"
    headers = {h.get("name"): h.get("value", "") for h in get.get("httpHeaders") or [] if h.get("name")}
    headers.setdefault("User-Agent", "kube-probe/1.32")
    while alive():
        conn = http.client.HTTPConnection("127.0.0.1", host_port, timeout=max(1, probe.get("timeoutSeconds", 1)))
        try:
            conn.request("GET", path, headers=headers)
            if 200 <= conn.getresponse().status < 400:
                return True
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(PROBE_PERIOD)
    return False
