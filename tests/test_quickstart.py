"""The week-1 twin: the ordering check, then a real end-to-end run."""

from __future__ import annotations

import uuid

from kafkalab import quickstart


def test_ordering_report_finds_split_and_disordered_keys():
    rows = [
        {"partition": 0, "offset": 0, "customerId": "A", "seq": 1},
        {"partition": 0, "offset": 1, "customerId": "A", "seq": 0},     # out of order
        {"partition": 0, "offset": 2, "customerId": "B", "seq": 0},
        {"partition": 1, "offset": 0, "customerId": "B", "seq": 1},     # split
    ]
    report = quickstart.ordering_report(rows)
    assert report == {"customers": 2, "split_across_partitions": ["B"], "out_of_order": ["A"]}


def test_main_runs_the_week1_pipeline(capsys):
    topic = f"test-quickstart-{uuid.uuid4().hex[:8]}"
    assert quickstart.main(["--topic", topic, "--n", "40", "--partitions", "2"]) == 0
    out = capsys.readouterr().out
    assert "consumed: 40" in out
    assert "OK: every customer's orders are on one partition" in out
