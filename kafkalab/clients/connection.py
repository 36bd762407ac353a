"""Where the brokers are, and the settings every client shares.

This is the one place that decides between the local broker kafkalab runs
(``KAFKA_BROKERS`` unset) and a cluster named in ``KAFKA_BROKERS``.
"""

from __future__ import annotations

import logging
from typing import Any

from kafka.errors import KafkaConnectionError, KafkaTimeoutError

from kafkalab import broker
from kafkalab.settings import Settings, get_settings

__all__ = [
    "BOOTSTRAP_TIMEOUT_MS",
    "BrokerUnavailable",
    "bootstrap_servers",
    "client_config",
    "group_config",
    "unavailable",
]

log = logging.getLogger(__name__)

#: kafka-python 3 waits 30 s for an absent broker by default; 5 s is plenty on
#: a laptop or a LAN and gives a learner a clear error instead of a long hang.
BOOTSTRAP_TIMEOUT_MS = 5000


class BrokerUnavailable(ConnectionError):
    """No broker answered at the bootstrap address within the timeout."""


def bootstrap_servers(settings: Settings | None = None) -> list[str]:
    """``KAFKA_BROKERS`` as a list, or the local broker (started if needed)."""
    settings = settings or get_settings()
    if settings.brokers:
        return list(settings.brokers)
    return broker.ensure().bootstrap.split(",")


def client_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """Configuration common to producers, consumers and admin clients."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "client_id": settings.client_id,
        "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
        "request_timeout_ms": 15000,
    }
    config.update(overrides)
    return config


def group_config(settings: Settings) -> dict[str, Any]:
    """Consumer-group timing: a 6 s session with a heartbeat every second.

    kafka-python's default session is 45 s, so a crashed member keeps its
    partitions for 45 s before the group moves them. 6 s is the lowest Apache
    Kafka accepts by default (``group.min.session.timeout.ms``), and a heartbeat
    every second (at most a third of the session, as Kafka advises) lets the
    group notice a rebalance within about a second. The same on every broker.
    """
    return {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}


def unavailable(settings: Settings, exc: BaseException) -> BrokerUnavailable:
    """A :class:`BrokerUnavailable` that says where we looked and what to do."""
    where = ",".join(settings.brokers) if settings.brokers else "the local broker"
    hint = ("check that the cluster is up (docker compose -f compose/docker-compose.yml ps) "
            "or unset KAFKA_BROKERS to use a local broker"
            if settings.brokers else "run `kafkalab broker status`")
    return BrokerUnavailable(
        f"no Kafka broker answered at {where} "
        f"(KAFKA_BROKERS={','.join(settings.brokers) if settings.brokers else 'unset'}); "
        f"{hint}. ({type(exc).__name__}: {exc})"
    )


#: Errors that mean "could not reach the cluster at all".
UNREACHABLE = (KafkaConnectionError, KafkaTimeoutError)
