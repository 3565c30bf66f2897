"""Real PostgreSQL 15 servers for the sandbox, run as the `postgres` user via runuser.

One initdb per machine and PostgreSQL version builds a template cluster (cached in the temp dir,
built atomically); every server (the main one, each PVC's) starts from a copy of it, so starting
costs a copy and a postmaster start, not an initdb.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
_template_lock = threading.Lock()


class PgError(Exception):
    """A PostgreSQL server could not be prepared or started."""


def free_port() -> int:
    """Returns a currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chown_postgres(path: str) -> None:
    subprocess.run(["chown", "-R", "postgres:postgres", path], check=True)


def _template_dir() -> str:
    """Builds (once) and returns the template data directory."""
    root = os.path.join(tempfile.gettempdir(), "runbook-sandbox-pgtemplate-15")
    ready = os.path.join(root, "data", "PG_VERSION")
    with _template_lock:
        if os.path.exists(ready):
            return os.path.join(root, "data")
        work = tempfile.mkdtemp(prefix="runbook-pgtemplate-build-")
        os.chmod(work, 0o755)
        data = os.path.join(work, "data")
        _chown_postgres(work)
        r = subprocess.run(
            ["runuser", "-u", "postgres", "--", f"{PG_BIN}/initdb", "-D", data, "-U", "postgres",
             "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
             "--no-sync", "--no-instructions"],
            capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            raise PgError(f"initdb failed: {r.stderr.strip()}")
        with open(os.path.join(data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        os.makedirs(os.path.dirname(root), exist_ok=True)
        try:
            os.rename(work, root)
        except OSError:
            shutil.rmtree(work, ignore_errors=True)  # another process won the race
        if not os.path.exists(ready):
            raise PgError(f"template cluster missing at {root}")
        return os.path.join(root, "data")


def init_data_dir(data_dir: str) -> None:
    """Fills an empty or missing `data_dir` with a fresh cluster (superuser `postgres`)."""
    parent = os.path.dirname(data_dir)
    os.makedirs(parent, exist_ok=True)
    if os.path.exists(data_dir):
        shutil.rmtree(data_dir)
    shutil.copytree(_template_dir(), data_dir, symlinks=True)
    _chown_postgres(data_dir)
    os.chmod(data_dir, 0o700)


def is_initialised(data_dir: str) -> bool:
    """True when `data_dir` holds a cluster."""
    return os.path.exists(os.path.join(data_dir, "PG_VERSION"))


class PgServer:
    """One postmaster on 127.0.0.1:port with its unix socket in `sock_dir`."""

    def __init__(self, data_dir: str, sock_dir: str, log_path: str, port: int | None = None):
        self.data_dir = data_dir
        self.sock_dir = sock_dir
        self.log_path = log_path
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self._stopped = False

    def start(self) -> None:
        """Starts the postmaster (does not wait; see wait_ready)."""
        os.makedirs(self.sock_dir, exist_ok=True)
        os.chmod(self.sock_dir, 0o755)
        _chown_postgres(self.sock_dir)
        for p in (os.path.dirname(self.data_dir), os.path.dirname(self.log_path)):
            os.makedirs(p, exist_ok=True)
            os.chmod(p, 0o755)
        stale = os.path.join(self.data_dir, "postmaster.pid")
        if os.path.exists(stale):
            os.remove(stale)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", f"{PG_BIN}/postgres", "-D", self.data_dir,
             "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={self.sock_dir}", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "shared_buffers=16MB", "-c", "max_connections=40",
             "-c", "max_wal_size=64MB", "-c", "logging_collector=off"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()

    def postmaster_pid(self) -> int | None:
        """The postmaster's pid from postmaster.pid, if running."""
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def accepting(self) -> bool:
        """True when the postmaster reports `ready` and its TCP port accepts."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                lines = f.read().splitlines()
            if len(lines) < 8 or lines[7].strip() != "ready":
                return False
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def wait_ready(self, timeout: float = 30) -> None:
        """Waits until the server accepts connections; raises PgError with its log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.accepting():
                return
            if self.proc is None or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise PgError(f"PostgreSQL on port {self.port} did not start: {self.log_tail()}")

    def log_tail(self, n: int = 2000) -> str:
        """The last `n` characters of the server log."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def psql(self, sql: str | None = None, file: str | None = None, db: str = "postgres",
             user: str = "postgres") -> str:
        """Runs SQL over the unix socket (trusted); raises PgError on any SQL error."""
        cmd = ["psql", "-h", self.sock_dir, "-p", str(self.port), "-U", user, "-d", db,
               "-v", "ON_ERROR_STOP=1", "-X", "-q", "-At"]
        cmd += ["-f", file] if file else ["-c", sql]
        r = subprocess.run(cmd, capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "")})
        if r.returncode != 0:
            raise PgError(r.stderr.strip())
        return r.stdout

    def pids(self) -> list[int]:
        """Process ids of the runuser wrapper and the postmaster."""
        out = []
        if self.proc is not None and self.proc.poll() is None:
            out.append(self.proc.pid)
        pm = self.postmaster_pid()
        if pm:
            out.append(pm)
        return out

    def stop(self, timeout: float = 10) -> None:
        """Fast shutdown; kills the process group if it does not exit. Idempotent."""
        if self.proc is None or self._stopped:
            return
        self._stopped = True
        pm = self.postmaster_pid()
        if self.proc.poll() is None:
            try:
                if pm:
                    os.kill(pm, 2)  # SIGINT = fast shutdown
                else:
                    os.killpg(self.proc.pid, 15)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, 9)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        # postmaster may outlive runuser briefly
        deadline = time.monotonic() + timeout
        while pm and time.monotonic() < deadline:
            try:
                os.kill(pm, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
