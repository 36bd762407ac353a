"""``python -m kafkalab.cdc``, run as a user would, against the test run's broker."""

from __future__ import annotations

import subprocess
import sys

from kafkalab.cdc.shop import create_shop, random_changes
from tests.conftest import unique


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kafkalab.cdc", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_demo_checks_the_lake_against_the_source(tmp_path) -> None:
    out = run("demo", "--rows", "20", "--seconds", "1", "--changes", "80", "--topic",
              unique("cdc-demo"), "--dir", str(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "published 105 change events" in out.stdout  # 20 + 5 rows snapshotted, 80 changes
    assert out.stdout.count("lake equals source") == 2
    assert "OK: the lake equals the source" in out.stdout
    assert (tmp_path / "lake" / "products").is_dir()


def test_capture_then_apply(tmp_path, admin) -> None:
    db = tmp_path / "shop.db"
    create_shop(db, products=5, customers=2, seed=3)
    topic = unique("cdc-cli")
    admin.ensure_topic(topic, 3)
    out = run("capture", "--db", str(db), "--table", "products", "--table", "customers",
              "--snapshot", "--topic", topic, "--idle-timeout", "0.5")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "published 7 change events" in out.stdout
    random_changes(db, 10, seed=1)
    out = run("capture", "--db", str(db), "--table", "products", "--table", "customers",
              "--topic", topic, "--idle-timeout", "0.5")
    assert out.returncode == 0 and "published 10 change events" in out.stdout, out.stderr
    out = run("apply", "--lake", str(tmp_path / "lake"), "--topic", topic, "--idle-timeout", "2",
              "--compact")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "read 17: applied 17" in out.stdout
    assert "in 1 files" in out.stdout


def test_capture_needs_a_source() -> None:
    out = run("capture", "--table", "products")
    assert out.returncode == 2 and "give --db PATH (SQLite) or --postgres DSN" in out.stderr
