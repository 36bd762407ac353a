"""bench/logs.py runs with a tiny N and appends one results line (no timing asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_logs_bench_prints_ratios_and_appends_a_results_line(tmp_path) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "logs.py"), "--n", "300",
                          "--results-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ship: bare kafka-python" in out.stdout and "1.00x" in out.stdout
    (line,) = (tmp_path / "logs.jsonl").read_text().splitlines()
    run = json.loads(line)
    names = {r["name"] for r in run["results"]}
    assert {"ship: KafkaLogHandler (acked)", "aggregate: LogAggregator",
            "read: bare kafka-python"} <= names
    assert run["params"]["n"] == 300 and "timestamp" in run
    assert all(r["n"] == 300 and r["ratio"] > 0 for r in run["results"])
