"""bench/batching.py runs and records its ratios (tiny N: this checks the
machinery, not the speed; no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_batching_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "batching.py"), "--n", "200",
                          "--results-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "default (linger 5, 16 KiB)" in out.stdout and "1.00x" in out.stdout
    (line,) = (tmp_path / "batching.jsonl").read_text().splitlines()
    run = json.loads(line)
    rows = {r["name"]: r for r in run["results"]}
    assert run["params"]["n"] == 200 and len(rows) == 8
    assert all(r["n"] == 200 and r["ratio"] > 0 for r in rows.values())
    # Bytes are deterministic for fixed data: JSON orders compress well under gzip.
    assert rows["gzip (linger 20, 64 KiB)"]["bytes_ratio"] < 0.5
