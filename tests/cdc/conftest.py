"""Fixtures for the CDC tests: a seeded shop database, an in-memory producer and,
when PostgreSQL is installed, one throwaway cluster for the whole run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafkalab.cdc.shop import create_shop
from tests.conftest import missing_system_tool


class DoneFuture:
    def __init__(self, offset: int) -> None:
        self.offset = offset

    def get(self, timeout: float | None = None) -> DoneFuture:
        return self


class MemoryProducer:
    """Stands in for a Producer in *unit* tests of the capture logic (integration
    tests use the real broker): keeps what was sent, JSON round-tripped."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict]] = []
        self.flushes = 0

    def send(self, topic: str, value: dict, *, key: str | None = None, **kw) -> DoneFuture:
        self.sent.append((topic, key, json.loads(json.dumps(value))))
        return DoneFuture(len(self.sent) - 1)

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1

    def values(self) -> list[dict]:
        return [v for _, _, v in self.sent]


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    db = tmp_path / "shop.db"
    create_shop(db, products=20, customers=8, seed=7)
    return db


@pytest.fixture
def memory_producer() -> MemoryProducer:
    return MemoryProducer()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """One throwaway PostgreSQL cluster (wal_level=logical) for the whole run."""
    from kafkalab.cdc import pgserver

    problem = pgserver.unavailable()
    if problem:
        missing_system_tool(problem)  # skips on a laptop without it; fails in CI
    with pgserver.PGServer() as server:
        yield server
