"""A Pod of image `postgres:*`: a real PostgreSQL server on the data directory that PGDATA resolves
to (inside the PVC mounted there, else the Pod's own directory), initialised as the image's
entrypoint does (POSTGRES_USER/PASSWORD/DB, the PVC's SQL init files)."""
import os
import subprocess

from .. import pgserver
from . import pod_status
from .base import now_iso
from .pod_runtime import PodRuntime, PodRuntimes

DEFAULT_PGDATA = "/var/lib/postgresql/data"


def is_postgres(image: str) -> bool:
    last = image.split("/")[-1]
    return last.startswith("postgres:") or last == "postgres"


def data_dir(runtimes: PodRuntimes, pod, c, env, claims) -> str:
    pgdata = os.path.normpath(env.get("PGDATA") or DEFAULT_PGDATA)
    by_name = dict(claims)
    best = None
    for m in c.get("volumeMounts") or []:
        mp = os.path.normpath(m.get("mountPath", ""))
        if m.get("name") in by_name and (pgdata == mp or pgdata.startswith(mp + "/")):
            if best is None or len(mp) > len(best[0]):
                best = (mp, by_name[m["name"]], m.get("subPath", ""))
    ns, name = pod["metadata"].get("namespace"), pod["metadata"]["name"]
    if best is None:  # container filesystem: gone with the Pod
        return os.path.join(runtimes.ctx.storage_dir, "pods", ns, name, "pgdata")
    mp, claim, sub = best
    rel = os.path.relpath(pgdata, mp)
    root = runtimes.pvc_root(ns, claim)
    return os.path.normpath(os.path.join(root, sub, rel) if rel != "." else os.path.join(root, sub))


def run(runtimes: PodRuntimes, rt: PodRuntime, pod, c, env, claims, fault):
    """Runs on the Pod's own thread: start, initialise, publish the endpoints, mark Ready."""
    store, ctx = runtimes.store, runtimes.ctx
    ns, name = rt.key
    started = now_iso()
    log = []
    try:
        if fault:
            pod_status.running(store, pod, c, False, started)
            store.set_log(ns, name, "sandbox fault injected: this pod never becomes ready\n")
            return
        ddir = data_dir(runtimes, pod, c, env, claims)
        os.makedirs(os.path.dirname(ddir), exist_ok=True)
        for d in (ctx.storage_dir, os.path.join(ctx.storage_dir, "volumes")):
            if os.path.isdir(d):
                os.chmod(d, 0o755)
        fresh = not pgserver.is_initialised(ddir)
        user = env.get("POSTGRES_USER") or "postgres"
        password = env.get("POSTGRES_PASSWORD") or ""
        db = env.get("POSTGRES_DB") or user
        if fresh and not password and env.get("POSTGRES_HOST_AUTH_METHOD") != "trust":
            runtimes.crashed(rt, pod, c, "Error: Database is uninitialized and superuser password is not "
                             "specified.\n       You must specify POSTGRES_PASSWORD to a non-empty value for "
                             "the\n       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on "
                             "\"docker run\".\n")
            return
        if fresh:
            log.append(f"The files belonging to this database system will be owned by user \"postgres\".\n"
                       f"initdb: data directory {env.get('PGDATA') or DEFAULT_PGDATA} initialised\n")
            pgserver.init_data_dir(ddir)
        for pv in rt.pvcs:
            os.chmod(runtimes.pvc_root(*pv), 0o755) if os.path.isdir(runtimes.pvc_root(*pv)) else None
        subprocess.run(["chown", "postgres:postgres", os.path.dirname(ddir)], check=False)
        logdir = os.path.join(ctx.sandbox_dir, "logs")
        os.makedirs(logdir, exist_ok=True)
        srv = pgserver.PgServer(ddir, runtimes.sock_dir(rt), os.path.join(logdir, f"pod-{ns}-{name}.log"))
        if not runtimes.attach(rt, server=srv):
            return
        pod_status.running(store, pod, c, False, started)
        srv.wait_ready(60)
        if fresh:
            q = lambda s: "'" + s.replace("'", "''") + "'"  # noqa: E731
            ident = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731
            if user == "postgres":
                srv.psql(f"ALTER ROLE postgres PASSWORD {q(password)}")
            else:
                srv.psql(f"CREATE ROLE {ident(user)} SUPERUSER LOGIN PASSWORD {q(password)}")
            if db != "postgres":
                srv.psql(f"CREATE DATABASE {ident(db)} OWNER {ident(user)}")
            for sql in ctx.pvc_sql_files(ns, [cl for _, cl in claims]):
                log.append(f"/usr/local/bin/docker-entrypoint.sh: running {os.path.basename(sql)}\n")
                srv.psql(file=sql, db=db, user=user)
            log.append("PostgreSQL init process complete; ready for start up.\n")
        log.append("LOG:  database system is ready to accept connections\n")
        store.set_log(ns, name, "".join(log))
        cport = 5432
        names = {}
        for p in c.get("ports") or []:
            if p.get("containerPort"):
                cport = p["containerPort"]
                if p.get("name"):
                    names[p["name"]] = srv.port
        if not runtimes.publish(rt, dict({5432: srv.port, cport: srv.port}, **names)):
            return
        pod_status.running(store, pod, c, True, started)
        runtimes.notify()
    except pgserver.PgError as e:
        log.append(f"FATAL: {e}\n")
        runtimes.crashed(rt, pod, c, "".join(log))
        if rt.server:
            rt.server.stop()
