"""Shared bits of the benchmarks: timing, ratio tables and the results file.

Every benchmark runs its baseline in the same process, against the same
broker and data, and reports *ratios* to it; absolute numbers depend on the
machine. Each run appends one JSON line to ``bench/results/<name>.jsonl``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def raw_consume(topic: str, n: int, *, tolerate_invalid: bool = False,
                timeout: float = 600.0) -> int:
    """The consume baseline of every benchmark: bare kafka-python reads ``n`` JSON
    records of ``topic`` (assign every partition, seek to the beginning, decode).

    ``tolerate_invalid`` counts a record that is not JSON instead of stopping (the
    IoT simulator sends some on purpose). Bounded by ``timeout`` seconds, so a
    missing record fails the benchmark instead of hanging it.
    """
    import time

    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition

    from kafkalab.clients import bootstrap_servers

    c = KafkaConsumer(bootstrap_servers=bootstrap_servers(), bootstrap_timeout_ms=5000,
                      enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        got = 0
        deadline = time.monotonic() + timeout
        while got < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"read {got} of {n} records from {topic} in {timeout:.0f} s")
            for records in c.poll(timeout_ms=1000).values():
                for r in records:
                    try:
                        json.loads(r.value)
                    except ValueError:
                        if not tolerate_invalid:
                            raise
                    got += 1
    finally:
        c.close()
    return got


def bench_parser(doc: str, n: int, n_help: str | None = None) -> argparse.ArgumentParser:
    """The options every benchmark takes: ``--n`` records and ``--results-dir``
    (the first paragraph of the script's docstring is its description)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=n, help=n_help)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    return parser


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def table(rows: list[dict[str, Any]], baseline: str, rate_key: str = "per_s") -> str:
    """Rows with a ``name`` and a rate; adds each one's ratio to the baseline row."""
    base = next(r[rate_key] for r in rows if r["name"] == baseline)
    lines = [f"{'what':<34} {'per second':>12} {'ratio':>7}"]
    for r in rows:
        r["ratio"] = round(r[rate_key] / base, 3) if base else None
        lines.append(f"{r['name']:<34} {r[rate_key]:>12,.0f} {r['ratio']:>7.2f}x")
    return "\n".join(lines)


def record(name: str, params: dict[str, Any], rows: list[dict[str, Any]],
           results_dir: Path = RESULTS) -> Path:
    """Append one run to ``<results_dir>/<name>.jsonl``; return the file."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.jsonl"
    line = {"timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                        "platform": platform.platform()},
            "params": params, "results": rows}
    with path.open("a") as fh:
        fh.write(json.dumps(line) + "\n")
    return path
