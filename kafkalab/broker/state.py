"""Where the local broker keeps its state, and how processes are told apart.

One cluster is shared by everything of one user on one machine (notebook
kernels, services, tests): they find it through a small JSON state file,
guarded by a lock and checked for stale PIDs, instead of each starting one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

__all__ = ["BrokerError", "cache_dir", "locked", "pid_alive", "process_command", "state_dir"]


class BrokerError(RuntimeError):
    """The local broker could not be found, installed, started, reached or stopped."""


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/kafkalab`` or ``~/.cache/kafkalab``: the default state
    directory, and always where the downloaded jars are kept."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "kafkalab"


def state_dir() -> Path:
    """Where clusters keep their data, logs and state files.

    ``KAFKALAB_STATE_DIR`` if set (the test suite uses a fresh one per run),
    otherwise :func:`cache_dir`.
    """
    raw = os.environ.get("KAFKALAB_STATE_DIR", "").strip()
    path = Path(raw) if raw else cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BrokerError(f"KAFKALAB_STATE_DIR: cannot create {path} ({exc.strerror})") from None
    return path


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold ``folder/broker.lock``: two kernels starting at the same moment must
    not start two brokers; whoever holds the lock decides, the other then reads
    the state file."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "broker.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        # No /proc (macOS): ask ps; a zombie shows as state Z.
        out = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True,
                             text=True)
        return out.stdout.strip().startswith("Z")
    # "pid (comm) S ...": the state follows the last ')' (comm may hold spaces).
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def pid_alive(pid: int) -> bool:
    """True if ``pid`` is a running process (a zombie, ours or not, is not).

    A broker started by another process that then died is re-parented and
    reaped by init; until then it is a zombie that still answers ``kill(0)``:
    counting it as alive would make ``down`` wait forever.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        if done == pid:
            return False
    return not _zombie(pid)


def process_command(pid: int) -> str:
    """The command line of ``pid`` ('' if unknown), to make sure a PID from a
    state file still belongs to our broker and was not reused by another program."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True,
                             text=True)
        return out.stdout.strip()
