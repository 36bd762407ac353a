"""The browser dashboard: a FastAPI app with a WebSocket feed and a page that draws it.

* ``GET /`` the dashboard page (Plotly charts and a table, updated live);
* ``GET /static/plotly.min.js`` Plotly, served from the ``plotly`` Python
  package itself, so the page works offline (no CDN);
* ``GET /api/analytics`` the latest metrics as JSON (the course brief's endpoint);
* ``WS /ws/metrics`` a snapshot on connect, then every update and alert.

:class:`DashboardServer` runs it with uvicorn in a background thread, bounded
start and stop, so a notebook or test can open it and close it again.

>>> app = create_app(LiveTable(), Broadcaster())      # no server started
>>> sorted(r.path for r in app.routes if r.path != "/openapi.json")
['/', '/api/analytics', '/static/plotly.min.js', '/ws/metrics']
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import plotly
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from kafkalab.analytics.broadcast import Broadcaster
from kafkalab.analytics.table import LiveTable
from kafkalab.serving import ThreadedServer, same_origin

__all__ = ["DashboardServer", "create_app", "plotly_js_path"]

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("static") / "dashboard.html"


def plotly_js_path() -> Path:
    """plotly.min.js as shipped inside the plotly Python package."""
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():
        raise FileNotFoundError(f"plotly.min.js not found at {path}; reinstall plotly")
    return path


def create_app(table: LiveTable, hub: Broadcaster, *, title: str = "kafkalab live metrics") -> FastAPI:
    """The app: page, script, JSON endpoint and WebSocket, over ``table`` and ``hub``.

    A client that falls behind is resynchronised with a snapshot of ``table``.
    """
    if hub.snapshot is None:
        hub.snapshot = lambda: {"type": "snapshot", "rows": table.rows()}
    # FastAPI's /docs pages load their scripts from a CDN; this app works offline.
    app = FastAPI(title=title, docs_url=None, redoc_url=None)
    page = PAGE.read_text(encoding="utf-8").replace("{{title}}", title)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page

    @app.get("/static/plotly.min.js")
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_js_path(), media_type="application/javascript")

    @app.get("/api/analytics")
    def analytics() -> JSONResponse:
        return JSONResponse({"latest": table.latest(), "windows": len(table),
                             "clients": len(hub.clients)})

    @app.websocket("/ws/metrics")
    async def metrics(ws: WebSocket) -> None:
        if not same_origin(ws.headers.get("origin"), ws.headers.get("host")):
            await ws.close(code=1008, reason="Origin does not match this dashboard's host")
            return
        await ws.accept()
        client = hub.connect()
        # The current table first, so a new page starts complete, then the feed.
        await ws.send_json({"type": "snapshot", "rows": table.rows()})
        sender = asyncio.create_task(hub.pump(client, ws.send_json))
        try:
            while True:  # we only listen to notice the client leaving
                await ws.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
            hub.disconnect(client)

    return app


class DashboardServer(ThreadedServer):
    """Serve :func:`create_app` with uvicorn in a daemon thread.

    Parameters
    ----------
    table, hub
        What to show and how updates reach the pages.
    host, port
        ``port=0`` picks a free port; read :attr:`url` after :meth:`start`.
    """

    def __init__(self, table: LiveTable, hub: Broadcaster, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.table = table
        self.hub = hub
        super().__init__(create_app(table, hub), host=host, port=port, name="dashboard",
                         ws="websockets-sansio" if _has_sansio() else "websockets")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self, timeout: float = 10.0) -> DashboardServer:
        """Start serving; return once the port accepts connections."""
        super().start(timeout)
        log.info("dashboard at %s", self.url)
        return self


def _has_sansio() -> bool:
    try:
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
    except ImportError:
        return False
    return True


