"""The benchmarks run and record their ratios (tiny N: this checks the
machinery, not the speed; no timing is asserted)."""

import pytest

from tests.conftest import run_bench


def test_clients_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    stdout, run = run_bench("clients", 300, tmp_path)
    assert "produce: raw kafka-python" in stdout
    names = {r["name"] for r in run["results"]}
    assert {"produce: kafkalab", "consume: kafkalab", "produce: raw kafka-python"} <= names
    assert all(r["n"] == 300 and r["ratio"] > 0 for r in run["results"])
    # One warm-up round is left out; each row is the median of the counted rounds.
    assert all(len(r["rounds"]) == run["params"]["rounds"] == 3 for r in run["results"])
    assert all(r["seconds"] == sorted(r["rounds"])[1] for r in run["results"])


def test_batching_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    stdout, run = run_bench("batching", 200, tmp_path)
    assert "default (linger 5, 16 KiB)" in stdout
    rows = {r["name"]: r for r in run["results"]}
    assert run["params"]["n"] == 200 and len(rows) == 8
    assert all(r["n"] == 200 and r["ratio"] > 0 for r in rows.values())
    # Bytes are deterministic for fixed data: JSON orders compress well under gzip.
    assert rows["gzip (linger 20, 64 KiB)"]["bytes_ratio"] < 0.5


@pytest.mark.slow
def test_windows_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    stdout, run = run_bench("windows", 400, tmp_path)
    assert "tumbling 1 min: pandas" in stdout and "quix-streams" in stdout
    names = {r["name"] for r in run["results"]}
    assert {"tumbling 1 min: kafkalab", "tumbling 1 min: kafkalab, polls of 5000",
            "hopping 3 min / 1 min: pandas", "from topic: kafkalab Processor",
            "from topic: raw kafka-python"} <= names
    assert all(r["n"] == 400 and r["ratio"] > 0 for r in run["results"])


def test_logs_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    stdout, run = run_bench("logs", 300, tmp_path)
    assert "ship: bare kafka-python" in stdout
    names = {r["name"] for r in run["results"]}
    assert {"ship: KafkaLogHandler (acked)", "aggregate: LogAggregator",
            "read: bare kafka-python"} <= names
    assert run["params"]["n"] == 300 and "timestamp" in run
    assert all(r["n"] == 300 and r["ratio"] > 0 for r in run["results"])


@pytest.mark.slow
def test_orders_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    stdout, run = run_bench("orders", 5, tmp_path)
    assert "baseline: produce->consume round trip" in stdout
    assert run["params"]["n"] == 5 and run["params"]["rate"] > 0 and run["timestamp"]
    names = [r["name"] for r in run["results"]]
    assert names == ["baseline: produce->consume round trip", "orders: one process",
                     "orders: separate processes"]
    assert all(r["n"] == 5 and r["per_s"] > 0 and r["p99_ms"] >= r["p95_ms"] >= r["p50_ms"]
               for r in run["results"])
    for r in run["results"][1:]:
        # Every hop of the seed order was timed from the records read back.
        assert {"OrderPlaced -> ReserveInventory", "ShipmentCreated -> OrderCompleted",
                "ChargePayment outbox"} <= set(r["hops"]) and len(r["hops"]) == 14
        assert r["cpu_ms_per_order"]["total"] > 0


def test_cdc_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    stdout, run = run_bench("cdc", 300, tmp_path)
    assert "publish: bare kafka-python" in stdout
    names = {r["name"] for r in run["results"]}
    assert {"capture: SQLiteCapture", "apply: LakeApplier (Parquet)",
            "app writes: with CDC triggers"} <= names
    assert all(r["ratio"] > 0 for r in run["results"])


def test_load_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    stdout, run = run_bench("load", 300, tmp_path)
    assert "raw kafka-python produce+consume" in stdout
    rows = {r["name"]: r for r in run["results"]}
    assert "raw kafka-python produce+consume" in rows
    load_rows = [r for name, r in rows.items() if name.startswith("load:")]
    assert len(load_rows) == 3 and all(r["p99_ms"] > 0 and r["ratio"] > 0 for r in load_rows)


def test_iot_bench_prints_ratios_and_appends_a_results_line(tmp_path):
    stdout, run = run_bench("iot", 300, tmp_path)
    assert "read: bare kafka-python" in stdout
    names = {r["name"] for r in run["results"]}
    assert names == {"validate+store: pandas baseline", "validate+store: kafkalab.iot",
                     "read: bare kafka-python", "read+write: bare kafka-python",
                     "end to end: IoTPipeline"}
    assert "IoTPipeline / read+write baseline" in stdout
    assert run["params"]["n"] == 300 and all(r["n"] == 300 and r["ratio"] > 0
                                             for r in run["results"])


def test_profiles_show_where_each_in_process_pipeline_spends_its_time():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / "profiles.py"
    out = subprocess.run([sys.executable, str(script), "windows", "windows-batch", "logs", "logs-pipeline",
                          "--n", "300", "--top", "5"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    # the windows jobs run a tumbling and a hopping windowing: two passes
    assert "== windows: 600 records" in out.stdout and "== windows-batch: 600 records" in out.stdout
    assert "== logs: 300 records" in out.stdout and "function calls per record" in out.stdout
    assert "== logs-pipeline: 300 records" in out.stdout and "(handle)" in out.stdout
    assert "aggregation.py" in out.stdout  # the window engine is on both paths
    bad = subprocess.run([sys.executable, str(script), "nope"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown job 'nope'" in bad.stderr


def test_suite_bench_reads_a_report_and_weighs_each_group(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    report = tmp_path / "report.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest" tests="4" failures="1" errors="0" time="70.0">'
        '<testcase classname="tests.test_a" name="test_x" time="30.0"/>'
        '<testcase classname="notebooks.week02" name="Cell 1@week-02" time="50.0"/>'
        '<testcase classname="tests.exercises.test_week02" name="test_y[a]@week-02]" time="20.0"/>'
        '<testcase classname="tests.test_a" name="test_z" time="20.0"/>'
        "</testsuite></testsuites>")
    script = Path(__file__).resolve().parent.parent / "bench" / "suite.py"
    out = subprocess.run([sys.executable, str(script), "--report", str(report), "--results-dir",
                          str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    import json

    (line,) = (tmp_path / "suite.jsonl").read_text().splitlines()
    run = json.loads(line)
    assert run["params"]["groups"] == {"week-02": 70.0, "(any worker)": 50.0}
    wall = {r["name"]: r for r in run["results"]}["pytest wall time"]
    assert wall["of_ideal"] == round(70 / 60, 3) and wall["ratio"] == round(70 / 120, 3)
    assert "1 failed or errored" in out.stdout
    # No report, or not a report: said in one line, nothing appended.
    missing = subprocess.run([sys.executable, str(script), "--report", str(tmp_path / "none.xml"),
                              "--results-dir", str(tmp_path / "r2")], capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode == 0 and "run `make test` first" in missing.stdout
    assert not (tmp_path / "r2").exists()
    (tmp_path / "bad.xml").write_text("not xml")
    bad = subprocess.run([sys.executable, str(script), "--report", str(tmp_path / "bad.xml"),
                          "--results-dir", str(tmp_path / "r2")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_profile_of_the_iot_pipeline_from_a_topic_shows_the_threads_it_cannot_see(admin):
    """Needs a broker (the admin fixture makes sure there is one; the script inherits it)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / "profiles.py"
    out = subprocess.run([sys.executable, str(script), "iot-topic", "--n", "300", "--top", "40"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "== iot-topic: 300 records" in out.stdout and "us in threads cProfile does not see" in out.stdout
    assert "loop.py" in out.stdout and "maintenance.py" in out.stdout  # the consume loop and the work


@pytest.mark.parametrize("args", [["--rate", "nan"], ["--rate", "inf"], ["--seconds", "0"], ["--n", "-1"]])
def test_orders_bench_refuses_a_rate_it_cannot_keep_in_one_line(args, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / "orders.py"
    out = subprocess.run([sys.executable, str(script), *args, "--results-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.strip().splitlines()[-1].endswith("--rate and --seconds must be positive, --n at least 1")
    assert not list(tmp_path.iterdir())  # nothing appended
