"""Fixtures for the order-system tests: a private topic prefix and data folder per test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kafkalab.orders import OrdersConfig, OrderSystem


@pytest.fixture
def make_config(tmp_path) -> Callable[..., OrdersConfig]:
    def make(**kw: Any) -> OrdersConfig:
        prefix = f"t{uuid.uuid4().hex[:8]}-"
        return OrdersConfig(prefix=prefix, data_dir=tmp_path / prefix, **kw)
    return make


@pytest.fixture
def start_system() -> Iterator[Callable[..., OrderSystem]]:
    systems: list[OrderSystem] = []

    def start(config: OrdersConfig, services: Any = None) -> OrderSystem:
        system = OrderSystem(config)
        systems.append(system)
        return system.start(services) if services is not None else system.start()

    yield start
    for s in systems:
        s.stop()


def _eventually(check: Callable[[], list[str]], timeout: float = 20.0) -> list[str]:
    """Re-run ``check`` until it reports no problem or ``timeout`` passes; return the last report.

    Some effects arrive after the order's final event (the payment capture
    follows ``OrderCompleted``), so the invariants hold once the system is idle.
    """
    deadline = time.monotonic() + timeout
    while True:
        problems = check()
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(0.5)


@pytest.fixture
def eventually() -> Callable[..., list[str]]:
    return _eventually
