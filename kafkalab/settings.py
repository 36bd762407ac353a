"""Settings read from the environment, checked once, in one typed object.

The variable names are the ones Kafka courses use (``KAFKA_BROKERS``,
``KAFKA_CLIENT_ID``, ``KAFKA_GROUP_ID``, ``LOG_LEVEL``), so what a learner reads
elsewhere works here unchanged.

>>> s = Settings.from_env({"KAFKA_BROKERS": "localhost:9092, localhost:9093"})
>>> s.brokers
('localhost:9092', 'localhost:9093')
>>> s.local
False
>>> Settings.from_env({}).local
True
>>> Settings.from_env({"LOG_LEVEL": "loud"})
Traceback (most recent call last):
...
kafkalab.settings.SettingsError: LOG_LEVEL: expected one of debug, info, warning, error, critical; got 'loud'
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Settings", "SettingsError", "get_settings"]

_HOSTPORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
_LEVELS = ("debug", "info", "warning", "error", "critical")


class SettingsError(ValueError):
    """A variable has a value kafkalab cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything kafkalab reads from the environment.

    Parameters
    ----------
    brokers
        Bootstrap servers as ``host:port`` strings, or ``None`` when
        ``KAFKA_BROKERS`` is unset or empty: kafkalab then runs a local Apache
        Kafka broker.
    client_id
        ``KAFKA_CLIENT_ID``: shows up in broker logs and metrics.
    group_id
        ``KAFKA_GROUP_ID``: the default consumer group.
    log_level
        ``LOG_LEVEL``: level for kafkalab's own loggers.
    """

    brokers: tuple[str, ...] | None = None
    client_id: str = "exercise-app"
    group_id: str = "exercise-group"
    log_level: str = "info"

    @property
    def local(self) -> bool:
        """True when ``KAFKA_BROKERS`` is unset: kafkalab runs a local Apache Kafka broker."""
        return self.brokers is None

    @property
    def log_level_number(self) -> int:
        """The ``logging`` module's number for :attr:`log_level`."""
        return getattr(logging, self.log_level.upper())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check the variables; raise :class:`SettingsError` on a bad value."""
        env = os.environ if env is None else env
        return cls(
            brokers=_parse_brokers(env.get("KAFKA_BROKERS", "")),
            client_id=_name(env, "KAFKA_CLIENT_ID", cls.client_id),
            group_id=_name(env, "KAFKA_GROUP_ID", cls.group_id),
            log_level=_level(env.get("LOG_LEVEL", cls.log_level)),
        )


def _parse_brokers(raw: str) -> tuple[str, ...] | None:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        return None
    for part in parts:
        m = _HOSTPORT.match(part)
        if not m or not 0 < int(m.group(2)) < 65536:
            raise SettingsError(
                "KAFKA_BROKERS: expected a comma-separated list of host:port, "
                f"e.g. localhost:9092,localhost:9093; got {raw!r} ({part!r} is not host:port)"
            )
    return tuple(parts)


def _name(env: Mapping[str, str], var: str, default: str) -> str:
    value = env.get(var, default).strip() or default
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", value):
        raise SettingsError(
            f"{var}: expected letters, digits, '.', '_' or '-' (at most 249); got {value!r}"
        )
    return value


def _level(raw: str) -> str:
    value = raw.strip().lower()
    value = {"warn": "warning", "fatal": "critical"}.get(value, value)
    if value not in _LEVELS:
        raise SettingsError(f"LOG_LEVEL: expected one of {', '.join(_LEVELS)}; got {raw!r}")
    return value


def get_settings() -> Settings:
    """The settings of this process, read from ``os.environ`` now (cheap; not cached,
    so a notebook that sets ``os.environ['KAFKA_BROKERS']`` sees the change)."""
    return Settings.from_env()
