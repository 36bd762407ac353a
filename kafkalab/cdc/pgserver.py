"""A throwaway PostgreSQL cluster for tests and notebooks, set up for logical decoding.

``PGServer()`` runs ``initdb`` into a temporary directory, starts the server
on a free port with ``wal_level=logical`` and trust authentication, creates a
database, and removes everything on :meth:`PGServer.stop`. Nothing is left
behind and no system service is touched.

``initdb`` refuses to run as root, so when we are root the PostgreSQL programs
run as the ``postgres`` user (``runuser``), in a directory that user owns.

>>> problem = unavailable()   # None when PostgreSQL and wal2json are installed
>>> problem is None or "apt-get install" in problem
True
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from kafkalab.net import free_port

__all__ = ["PACKAGES", "PGServer", "PostgresUnavailable", "find_bin_dir", "unavailable"]

log = logging.getLogger(__name__)

#: The Debian/Ubuntu packages the PostgreSQL lessons and tests need; the plugin's
#: name carries the server's major version (15 on Debian 12, 16 on Ubuntu 24.04).
PACKAGES = "postgresql postgresql-<version>-wal2json"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL (or its wal2json plugin) is not installed here."""


def find_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` (or ``PATH``'s) holding initdb and pg_ctl."""
    found = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(
                os.path.join(d, "pg_ctl"), os.X_OK):
            try:
                found.append((int(Path(d).parent.name), Path(d)))
            except ValueError:
                continue
    if found:
        return max(found)[1]
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _has_wal2json(bin_dir: Path) -> bool:
    candidates = [bin_dir.parent / "lib" / "wal2json.so"]
    pg_config = bin_dir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--pkglibdir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()) / "wal2json.so")
    return any(c.exists() for c in candidates)


def unavailable() -> str | None:
    """Why a local PostgreSQL cannot be started here, or ``None`` if it can."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        return ("PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on "
                f"PATH). On Debian/Ubuntu: sudo apt-get install {PACKAGES}, e.g. "
                "postgresql-15-wal2json on Debian 12, postgresql-16-wal2json on Ubuntu 24.04")
    if not _has_wal2json(bin_dir):
        version = bin_dir.parent.name
        return (f"the wal2json logical-decoding plugin is not installed for PostgreSQL "
                f"{version}. On Debian/Ubuntu: sudo apt-get install postgresql-{version}-wal2json")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return ("running as root, and there is no 'postgres' user to run initdb as "
                    "(initdb refuses root)")
    return None


class PGServer:
    """Start a private PostgreSQL cluster; use as a context manager.

    Parameters
    ----------
    dbname
        The database created for you (``dsn`` points at it).
    port
        A TCP port on 127.0.0.1; a free one by default.
    """

    def __init__(self, dbname: str = "kafkalab", port: int | None = None) -> None:
        self.dbname = dbname
        self.port = port
        self.dir: Path | None = None
        self.bin_dir: Path | None = None

    @property
    def dsn(self) -> str:
        """A libpq connection string for psycopg (``psycopg.connect(server.dsn)``)."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={self.dbname}"

    def _run(self, *args: str, timeout: float = 60) -> str:
        assert self.bin_dir is not None
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]  # initdb refuses root
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise PostgresUnavailable(f"{args[0]} failed ({out.returncode}): "
                                      f"{(out.stderr or out.stdout).strip()[-1500:]}")
        return out.stdout

    def start(self) -> PGServer:
        problem = unavailable()
        if problem:
            raise PostgresUnavailable(problem)
        self.bin_dir = find_bin_dir()
        self.port = self.port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="kafkalab-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        data = self.dir / "data"
        try:
            # --no-sync: a throwaway cluster need not survive a power cut.
            self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--no-sync", "--no-instructions")
            conf = {
                "wal_level": "logical",             # logical decoding needs it
                "max_replication_slots": "10",
                "max_wal_senders": "10",
                "port": str(self.port),
                "listen_addresses": "'127.0.0.1'",
                "unix_socket_directories": f"'{self.dir}'",  # not /var/run/postgresql
                "fsync": "off",                          # throwaway: speed over durability
                # synchronous_commit stays on: logical decoding reads only flushed WAL,
                # so with it off a change would show up in the slot up to ~1 s late.
                "full_page_writes": "off",
            }
            with open(data / "postgresql.auto.conf", "a") as fh:
                # runuser cannot write here as root-owned file; we append as root,
                # then the server (as postgres) only reads it.
                fh.writelines(f"{k} = {v}\n" for k, v in conf.items())
            self._run("pg_ctl", "-D", str(data), "-l", str(self.dir / "server.log"), "-w",
                      "-t", "60", "start")
            import psycopg

            with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres "
                                 f"dbname=postgres", autocommit=True) as con:
                con.execute(f'CREATE DATABASE "{self.dbname}"')
        except BaseException:
            self.stop()
            raise
        log.info("PostgreSQL running on 127.0.0.1:%d (data in %s)", self.port, self.dir)
        return self

    def stop(self) -> None:
        """Stop the server at once and delete its directory."""
        if self.dir is None:
            return
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
            except (PostgresUnavailable, subprocess.TimeoutExpired) as exc:
                log.warning("stopping PostgreSQL: %s", exc)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> PGServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
