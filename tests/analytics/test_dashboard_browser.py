"""A real headless Chromium opens the dashboard and shows the numbers of the stream.

The page is served by :class:`~kafkalab.analytics.DashboardServer`, fed by
:class:`~kafkalab.analytics.ShopAnalytics` reading events from a real Apache
Kafka broker. Chromium is driven over the DevTools protocol with the ``websockets``
package (no Selenium or Playwright), with every outside host unresolvable, so
the page must work offline (Plotly is served locally).

If Chromium is missing, ``scripts/install-system-deps.sh`` installs it; the
test is skipped only if that fails too.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from kafkalab.analytics import DashboardServer, EventGenerator, ShopAnalytics, flatten, produce_events, shop_metrics
from kafkalab.clients import Consumer
from tests.browser import Browser, find_chromium

pytestmark = pytest.mark.slow

READ_PAGE = """JSON.stringify({
  plotly: typeof window.Plotly,
  charts: document.querySelectorAll('.chart.js-plotly-plot').length,
  updates: Number(document.body.dataset.updates || 0),
  rows: [...document.querySelectorAll('#rows tr')].map(tr => ({
    window: Number(tr.dataset.window),
    cells: Object.fromEntries([...tr.querySelectorAll('td[data-metric]')]
                              .map(td => [td.dataset.metric, td.textContent]))}))
})"""


def test_dashboard_in_headless_chromium_matches_the_stream():
    binary = find_chromium()
    topic, app = f"shop-events-{uuid.uuid4().hex[:8]}", f"dash-{uuid.uuid4().hex[:8]}"
    events = EventGenerator(seed=11, minutes=8, start_ms=1_767_225_600_000).generate()
    analytics = ShopAnalytics(topic, application_id=app, alerts_topic=None)
    server = browser = None
    try:
        produce_events(topic, [])   # creates the (empty) topic
        server = DashboardServer(analytics.table, analytics.hub).start()
        analytics.start(timeout=120, idle_timeout=60)
        browser = Browser(binary)
        browser.call("Page.navigate", url=server.url)
        deadline = time.monotonic() + 30
        while len(analytics.hub.clients) < 1:
            assert time.monotonic() < deadline, "the page never opened its WebSocket"
            time.sleep(0.1)

        # The page is open: now the events flow, so it must update live.
        produce_events(topic, events)
        with Consumer(topic, group_id=False) as c:
            read_back = list(c.messages(idle_timeout=2, timeout=30))
        expected = {r.window.start_ms: flatten(r.value) for r in
                    shop_metrics(topic).run_local(read_back, flush=False).final()}
        assert len(expected) == 8

        page, deadline = None, time.monotonic() + 45
        while time.monotonic() < deadline:
            page = json.loads(browser.evaluate(READ_PAGE))
            shown = {r["window"]: {m: float(v) for m, v in r["cells"].items()}
                     for r in page["rows"]}
            if shown == expected:
                break
            time.sleep(0.5)
        assert page is not None
        shown = {r["window"]: {m: float(v) for m, v in r["cells"].items()} for r in page["rows"]}
        assert shown == expected, "the page shows the stream's numbers"
        assert page["updates"] > 0, "the page received live updates after it opened"
        assert page["plotly"] == "object" and page["charts"] == 3, "charts drawn, offline"
    finally:
        if browser is not None:
            browser.close()
        analytics.stop()
        analytics.close()
        if server is not None:
            server.stop()
