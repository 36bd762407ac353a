"""Week 8's dashboard, drawn by Plotly in headless Chromium at a notebook's width: the
figure title, the three subplot titles, the legend and the tick labels never overlap."""

from __future__ import annotations

import json
import time

import plotly.io as pio
import pytest

from kafkalab.ops.dashboard import Dashboard
from kafkalab.ops.metrics import Registry
from kafkalab.testing import FakeClock
from tests.browser import Browser, find_chromium

pytestmark = pytest.mark.slow

#: Bounding boxes of every text that could collide, by kind.
READ_BOXES = """JSON.stringify((() => {
  const box = (kind, el) => { const r = el.getBoundingClientRect();
    return {kind, text: el.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; };
  const all = (sel, kind) => [...document.querySelectorAll(sel)].map(el => box(kind, el));
  return [...all('.gtitle', 'title'), ...all('.annotation-text', 'subplot title'),
          ...all('.legend .traces', 'legend'),
          ...all('.xtick text', 'tick'), ...all('.ytick text', 'tick')]
         .filter(b => b.x1 > b.x0 && b.y1 > b.y0);
})())"""


def overlaps(a: dict, b: dict) -> bool:
    return a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]


@pytest.mark.parametrize("width", [700, 900])
def test_week08_dashboard_texts_do_not_overlap(tmp_path, width):
    clock = FakeClock()
    registry = Registry(now=clock.now)
    board = Dashboard(registry, handler="billing")
    for second in range(30):
        for partition in range(3):
            registry.set("consumer_lag", 1000 - 30 * second + partition, group="g",
                         topic="orders", partition=partition)
        registry.inc("records_total", 400, handler="billing")
        registry.histogram("processing_seconds", handler="billing").observe(0.002 + 0.0001 * second)
        board.refresh()
        clock.advance(1)
    page = tmp_path / "dashboard.html"
    # The notebook's output area sets the width; Plotly is inlined, so the page is offline.
    page.write_text(pio.to_html(board.figure, include_plotlyjs=True, full_html=True,
                                default_width=f"{width}px"), encoding="utf-8")
    browser = Browser(find_chromium())
    try:
        browser.call("Page.navigate", url=page.as_uri())
        boxes, deadline = [], time.monotonic() + 30
        while time.monotonic() < deadline:
            boxes = json.loads(browser.evaluate(READ_BOXES) or "[]")
            if any(b["kind"] == "title" for b in boxes):
                break
            time.sleep(0.2)
    finally:
        browser.close()
    kinds = {b["kind"] for b in boxes}
    assert kinds == {"title", "subplot title", "legend", "tick"}, kinds
    clashes = [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
               if "tick" not in (a["kind"], b["kind"]) or a["kind"] != b["kind"]
               if overlaps(a, b)]
    assert clashes == [], f"overlapping texts at {width} px: {clashes}"
