"""The Apache Kafka jars: fetched once from Maven Central, every hash checked.

A learner's machine has Python, maybe Java, and no Maven. So the exact jars the
broker needs are listed in ``kafka-jars.lock`` beside this file (Maven
coordinates, sha256 and size of each, written by ``scripts/lock-kafka-jars.py``
with Maven on a maintainer's machine), and the first broker start downloads
exactly those files into the jar cache, checks each, and never downloads again.

Nothing half written is ever used: each file is downloaded to a ``.part`` name,
its size and sha256 are checked, and only then is it renamed into place; a
file already in the cache is checked again (size at every start, sha256 when
the cache is first completed) so a corrupt cache is repaired, not trusted.

>>> jar = parse_lock("org.apache.kafka:kafka-clients:4.4.0\\t" + "a" * 64 + "\\t10\\n")[0]
>>> jar.filename
'kafka-clients-4.4.0.jar'
>>> jar.path_in_repository
'org/apache/kafka/kafka-clients/4.4.0/kafka-clients-4.4.0.jar'
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kafkalab.broker.state import BrokerError, cache_dir

__all__ = ["KAFKA_VERSION", "MAVEN_URL", "Jar", "classpath", "ensure_jars", "lock_file",
           "parse_lock"]

#: The Apache Kafka version the course runs (and ``compose/`` pins): the newest
#: 4.x that kafka-python 3.0.12 was checked against (transactions, groups,
#: admin calls and CreatePartitions all pass the suite on it).
KAFKA_VERSION = "4.4.0"

#: Where the jars come from unless ``KAFKALAB_MAVEN_URL`` names a mirror (a
#: corporate proxy of Maven Central, say): the file paths are Maven's layout.
MAVEN_URL = "https://repo1.maven.org/maven2"

_COORD = re.compile(r"^([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+):([A-Za-z0-9_.+-]+)$")


@dataclass(frozen=True)
class Jar:
    """One line of the lock file."""

    group: str
    artifact: str
    version: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def path_in_repository(self) -> str:
        return f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"


def lock_file() -> Path:
    return Path(__file__).with_name("kafka-jars.lock")


def parse_lock(text: str) -> list[Jar]:
    """The jars a lock file lists; a malformed line is an error naming it."""
    jars = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        m = _COORD.match(parts[0]) if len(parts) == 3 else None
        if (not m or not re.fullmatch(r"[0-9a-f]{64}", parts[1]) or not parts[2].isdigit()):
            raise BrokerError(f"{lock_file()} line {n} is not 'group:artifact:version<TAB>sha256"
                              f"<TAB>bytes': {line!r}")
        group, artifact, version = m.groups()
        jars.append(Jar(group, artifact, version, sha256=parts[1], size=int(parts[2])))
    return jars


def jar_dir() -> Path:
    """``<cache>/jars/kafka-<version>``: shared by every state directory of this user,
    so a test run with a private state directory does not download again."""
    return cache_dir() / "jars" / f"kafka-{KAFKA_VERSION}"


def classpath() -> str:
    """The ``-cp`` argument for ``java``: every jar of the cache directory."""
    return str(jar_dir() / "*")


def _mirror() -> str:
    url = os.environ.get("KAFKALAB_MAVEN_URL", "").strip() or MAVEN_URL
    if not re.match(r"^(https?|file)://", url):
        raise BrokerError(f"KAFKALAB_MAVEN_URL: expected an http(s):// or file:// URL of a Maven "
                          f"repository; got {url!r}")
    return url.rstrip("/")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _progress_bar(total: int) -> Callable[[int], None]:
    """A one-line progress bar on stderr (a notebook shows it too)."""
    done = [0, -1]
    # A terminal or notebook redraws the line; a log file (CI) gets every 10 %.
    step = 1 if sys.stderr.isatty() or "ipykernel" in sys.modules else 10

    def advance(n: int) -> None:
        done[0] += n
        pct = done[0] * 100 // max(total, 1) // step * step
        if pct != done[1]:
            done[1] = pct
            bar = "#" * (pct // 4)
            print(f"\rApache Kafka {KAFKA_VERSION} jars [{bar:<25}] {pct:3d}% of "
                  f"{total / 1e6:.0f} MB", end="" if pct < 100 else "\n", file=sys.stderr,
                  flush=True)

    return advance


def _download(jar: Jar, base: str, target: Path, advance: Callable[[int], None]) -> None:
    url = f"{base}/{jar.path_in_repository}"
    part = target.with_name(target.name + ".part")
    h = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=30) as resp, open(part, "wb") as out:
            for block in iter(lambda: resp.read(1 << 16), b""):
                out.write(block)
                h.update(block)
                size += len(block)
                advance(len(block))
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        part.unlink(missing_ok=True)
        raise BrokerError(
            f"could not download {jar.filename} from {url} ({exc}); check the network, or set "
            "KAFKALAB_MAVEN_URL to a Maven mirror you can reach, or copy the jar into "
            f"{target.parent} by hand (kafkalab checks its sha256)") from None
    if size != jar.size or h.hexdigest() != jar.sha256:
        part.unlink(missing_ok=True)
        raise BrokerError(
            f"{jar.filename} from {url} has sha256 {h.hexdigest()} ({size} bytes), but "
            f"{lock_file().name} expects {jar.sha256} ({jar.size} bytes); the download was "
            "discarded. A proxy or mirror changed it: try again, or set KAFKALAB_MAVEN_URL")
    part.replace(target)


def ensure_jars(progress: bool = True) -> Path:
    """Make sure every locked jar is in the cache, downloading what is missing.

    Returns the jar directory. Extra files there (an older ``.part``) are
    removed, so ``java -cp dir/*`` sees exactly the locked jars.
    """
    jars = parse_lock(lock_file().read_text())
    folder = jar_dir()
    folder.mkdir(parents=True, exist_ok=True)
    verified = folder / ".verified"
    wanted = {j.filename for j in jars}
    for stray in folder.iterdir():
        if stray.name not in wanted and stray.name != ".verified":
            stray.unlink()
    # Size is checked at every start (cheap); the sha256 of every file once,
    # when the cache is complete (then .verified records it).
    bad = [j for j in jars if not (folder / j.filename).exists()
           or (folder / j.filename).stat().st_size != j.size]
    if not bad and not verified.exists():
        bad = [j for j in jars if _sha256(folder / j.filename) != j.sha256]
    if bad:
        verified.unlink(missing_ok=True)
        base = _mirror()
        advance = _progress_bar(sum(j.size for j in bad)) if progress else (lambda n: None)
        for jar in bad:
            _download(jar, base, folder / jar.filename, advance)
    if not verified.exists():
        verified.write_text(f"{len(jars)} jars of {lock_file().name} checked\n")
    return folder
