"""The command line's argument and input handling, fuzzed: every input is either
accepted or refused with one line (argparse's exit 2, or a kafkalab error the
CLI prints as ``kafkalab: ...`` with exit 2) — never a traceback.

Only the checking is run here (parsing and the checks that happen before any
call to the broker); the round trips are in tests/test_cli.py.
"""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkalab.cli import InputError, _config_pairs, _records, build_parser
from kafkalab.clients.topics import TopicSpecError, check_topic_name

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True)

tokens = st.one_of(
    st.text(max_size=12), st.sampled_from(["0", "-1", "3", "1e400", "nan", "inf", "-p", "-r",
                                           "--config", "retention.ms=banana", "x=1", "=",
                                           "--idle-timeout", "--timeout", "-n", "-K", ":", "-f", "..",
                                           ".", "a/b", "t" * 300, "\x00"]))
commands = st.sampled_from([["topics", "create"], ["topics", "describe"], ["topics", "delete"],
                            ["produce"], ["consume"], ["broker", "up"], ["broker", "stop-node"]])


@SETTINGS
@given(commands, st.lists(tokens, max_size=6))
def test_arguments_are_accepted_or_refused_in_one_line(command, rest) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args = build_parser().parse_args([*command, *rest])
        except SystemExit as exc:
            assert exc.code == 2
            assert ": error: " in err.getvalue() and "Traceback" not in err.getvalue()
            return
    # What parsed is checked before any broker call; it passes or says why.
    try:
        name = getattr(args, "name", None) or getattr(args, "topic", None)
        if isinstance(name, str):
            check_topic_name(name)
        _config_pairs(getattr(args, "config", []) or [])
    except TopicSpecError as exc:
        assert "\n" not in str(exc) and str(exc)


@SETTINGS
@given(st.binary(max_size=300), st.sampled_from(["json", "str"]),
       st.sampled_from([None, ":", "", "|"]))
def test_input_lines_are_accepted_or_refused_naming_the_line(data, fmt, separator) -> None:
    args = argparse.Namespace(file=None, key=None, key_separator=separator, format=fmt)
    stdin = io.TextIOWrapper(io.BytesIO(data))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdin", stdin)
        try:
            records = _records(args)
        except InputError as exc:
            assert "\n" not in str(exc)
            assert str(exc).startswith(("line ", "-K/--key-separator"))
            return
    assert all(isinstance(r, tuple) and len(r) == 2 for r in records)
