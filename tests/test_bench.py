"""The benchmarks run and record their ratios (tiny N: this checks the
machinery, not the speed; no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_clients_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "clients.py"), "--n", "300",
                          "--results-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "produce: raw kafka-python" in out.stdout and "1.00x" in out.stdout
    (line,) = (tmp_path / "clients.jsonl").read_text().splitlines()
    run = json.loads(line)
    names = {r["name"] for r in run["results"]}
    assert {"produce: kafkalab", "consume: kafkalab", "produce: raw kafka-python"} <= names
    assert all(r["n"] == 300 and r["ratio"] > 0 for r in run["results"])
