"""kafkalab's log lines in a notebook: INFO is ordinary output, warnings are on stderr."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from kafkalab import configure_logging


class KernelStream(io.StringIO):
    """Stands in for ipykernel's OutStream (what sys.stdout is in a notebook kernel)."""


KernelStream.__module__ = "ipykernel.iostream"


@pytest.fixture
def restore_level():
    logger = logging.getLogger("kafkalab")
    level = logger.level
    yield
    configure_logging(logging.getLevelName(level) if level else "warning")


def test_in_a_kernel_info_goes_to_stdout_and_warnings_to_stderr(monkeypatch, restore_level):
    out, err = KernelStream(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    configure_logging("info")
    log = logging.getLogger("kafkalab.demo")
    log.info("consumer joined the group")
    log.warning("lag is growing")
    assert "INFO kafkalab.demo: consumer joined the group" in out.getvalue()
    assert "consumer joined" not in err.getvalue()
    assert "WARNING kafkalab.demo: lag is growing" in err.getvalue()
    assert "lag is growing" not in out.getvalue()


def test_outside_a_kernel_every_line_goes_to_stderr(monkeypatch, restore_level):
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)  # the CLI's stdout carries data (JSON, records)
    monkeypatch.setattr(sys, "stderr", err)
    configure_logging("info")
    logging.getLogger("kafkalab.demo").info("consumer joined the group")
    assert "consumer joined the group" in err.getvalue()
    assert out.getvalue() == ""
