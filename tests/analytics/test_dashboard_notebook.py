"""Week 6's live dashboard notebook runs long enough to watch for a learner (the test
run, which sets KAFKALAB_STRICT_CHECKS, keeps it to seconds); nbval runs the short one
and its Alerts cell asserts that the injected anomalies raised alerts."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOK = (Path(__file__).resolve().parents[2] / "notebooks" / "week06-stream-processing"
            / "03-live-dashboard.ipynb")


def run_setup(monkeypatch, strict: bool) -> dict:
    if strict:
        monkeypatch.setenv("KAFKALAB_STRICT_CHECKS", "1")
    else:
        monkeypatch.delenv("KAFKALAB_STRICT_CHECKS", raising=False)
    setup = next(c for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    namespace: dict = {}
    exec(setup.source, namespace)  # imports and settings only: no broker needed
    return namespace


@pytest.mark.parametrize("strict", [False, True])
def test_the_dashboard_runs_a_minute_or_more_for_a_learner(monkeypatch, strict):
    ns = run_setup(monkeypatch, strict)
    if strict:
        assert ns["PLAY_S"] + ns["IDLE_S"] <= 15
    else:
        assert ns["PLAY_S"] >= 60, "a learner needs time to watch the numbers move"
        assert ns["IDLE_S"] >= 10
