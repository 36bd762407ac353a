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

import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from kafkalab.analytics import (
    DashboardServer,
    EventGenerator,
    ShopAnalytics,
    flatten,
    produce_events,
    shop_metrics,
)
from kafkalab.clients import Consumer
from tests.conftest import missing_system_tool

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    script = ROOT / "scripts" / "install-system-deps.sh"
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=900)
    path = shutil.which("chromium")
    if not path:
        missing_system_tool("chromium is not installed and scripts/install-system-deps.sh "
                            f"could not install it: {(done.stdout + done.stderr)[-500:]}")
    return path


class Browser:
    """Just enough of the DevTools protocol: navigate and evaluate JavaScript."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="kafkalab-chromium-")
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", "--remote-allow-origins=*",
             # Any host but this machine fails to resolve: a CDN could not load.
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start: "
                                   + self.proc.stderr.read().decode()[-1000:] if self.proc.poll()
                                   is not None else "chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        url = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
        self._connection = connect(url, max_size=None, open_timeout=10)
        self.ws = self._connection.__enter__()
        self.ids = itertools.count(1)

    def call(self, method: str, **params):
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv(timeout=20))
            if reply.get("id") == msg_id:  # other messages are events: skip them
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
        raise TimeoutError(method)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self._connection.__exit__(None, None, None)
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            shutil.rmtree(self.profile, ignore_errors=True)


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
