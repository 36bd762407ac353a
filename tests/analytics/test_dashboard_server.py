"""The real server (uvicorn): a vanished or stalled WebSocket client does not hold back the others."""

from __future__ import annotations

import json
import time

import httpx
from websockets.sync.client import connect

from kafkalab.analytics import Broadcaster, DashboardServer, LiveTable
from kafkalab.windows import Window, WindowResult


def update(table: LiveTable, minute: int, count: int) -> None:
    table.update(WindowResult("shop", Window(minute * 60_000, (minute + 1) * 60_000),
                              {"orders": {"count": count, "revenue": 1.5 * count}}))


def test_vanished_and_stalled_clients_do_not_hold_back_a_live_one():
    table, hub = LiveTable(), Broadcaster(queue_size=20)
    table.on_update(lambda row: hub.publish({"type": "metrics", "row": row}, key=row["windowStart"]))
    update(table, 0, 1)
    with DashboardServer(table, hub) as server:
        ws_url = server.url.replace("http", "ws") + "ws/metrics"
        with connect(ws_url) as live, connect(ws_url) as _stalled:
            assert json.loads(live.recv(timeout=5))["type"] == "snapshot"
            vanished = connect(ws_url).__enter__()
            vanished.recv(timeout=5)         # its snapshot: the server has registered it
            deadline = time.monotonic() + 10
            while len(hub.clients) != 3:
                assert time.monotonic() < deadline, f"clients: {len(hub.clients)}"
                time.sleep(0.05)
            vanished.socket.close()          # gone without a goodbye
            # 'stalled' never reads again. Publish many updates of 50 windows.
            for i in range(2000):
                update(table, i % 50, i)
            latest: dict[int, int] = {}
            deadline = time.monotonic() + 20
            while len(latest) < 50 or any(v < 1950 for v in latest.values()):
                assert time.monotonic() < deadline, "the live client did not get the latest values"
                msg = json.loads(live.recv(timeout=10))
                rows = msg["rows"] if msg["type"] == "snapshot" else [msg["row"]]
                for row in rows:
                    latest[row["windowStart"] // 60_000] = row["orders.count"]
            assert latest == {m: 1950 + m for m in range(50)}
            # The vanished client was dropped; the stalled one's buffer stays bounded.
            deadline = time.monotonic() + 10
            while len(hub.clients) > 2:
                assert time.monotonic() < deadline, "the vanished client was never removed"
                time.sleep(0.05)
            assert all(len(c.pending) <= hub.queue_size for c in hub.clients.values())
        assert httpx.get(server.url + "api/analytics", timeout=5).json()["windows"] == 50
