"""A web app serving a registry to Prometheus: ``GET /metrics`` and ``GET /health``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafkalab.ops.metrics.exposition import CONTENT_TYPE
from kafkalab.ops.metrics.store import Registry

__all__ = ["metrics_app"]


def metrics_app(registry: Registry, collect: Callable[[], Any] | None = None) -> Any:
    """A FastAPI app serving ``GET /metrics`` (Prometheus text) and ``GET /health``.

    ``collect`` is called before each scrape (e.g. to copy client metrics in).
    Serve it with :class:`kafkalab.serving.ThreadedServer`.
    """
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI(title="kafkalab metrics")

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        if collect is not None:
            collect()
        return PlainTextResponse(registry.prometheus(),
                                 media_type=CONTENT_TYPE)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
