"""bench/orders.py runs with a tiny N and appends a results line (no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_orders_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "orders.py"), "--n", "5",
                          "--results-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "baseline: produce->consume round trip" in out.stdout and "1.00x" in out.stdout
    (line,) = (tmp_path / "orders.jsonl").read_text().splitlines()
    run = json.loads(line)
    assert run["params"]["n"] == 5 and run["timestamp"]
    names = [r["name"] for r in run["results"]]
    assert names == ["baseline: produce->consume round trip", "orders: one process",
                     "orders: separate processes"]
    assert all(r["n"] == 5 and r["per_s"] > 0 and r["p99_ms"] >= r["p50_ms"] for r in run["results"])
