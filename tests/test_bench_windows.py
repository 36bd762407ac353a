"""bench/windows.py runs and records its ratios (tiny N: checks the machinery, not the speed)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_windows_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "windows.py"), "--n", "400",
                          "--results-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "tumbling 1 min: pandas" in out.stdout and "1.00x" in out.stdout
    assert "quix-streams" in out.stdout
    (line,) = (tmp_path / "windows.jsonl").read_text().splitlines()
    run = json.loads(line)
    names = {r["name"] for r in run["results"]}
    assert {"tumbling 1 min: kafkalab", "hopping 3 min / 1 min: pandas",
            "from topic: kafkalab Processor", "from topic: raw kafka-python"} <= names
    assert all(r["n"] == 400 and r["ratio"] > 0 for r in run["results"])
