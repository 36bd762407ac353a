"""The Prometheus text exposition format: what a ``/metrics`` endpoint serves.

Prometheus scrapes plain text, one sample a line, each metric family under a
``# TYPE`` line (format 0.0.4, still what every Prometheus server reads).
:func:`render` writes the latest value of each series of a
:class:`~kafkalab.ops.metrics.store.Registry` that way;
``Registry.prometheus()`` calls it.

>>> from kafkalab.testing import FakeClock
>>> from kafkalab.ops.metrics.store import Registry
>>> reg = Registry(now=FakeClock().now)
>>> reg.set("consumer_lag", 12, group="billing", partition="0")
>>> print(render(reg.series(), reg.histograms()), end="")
# TYPE consumer_lag gauge
consumer_lag{group="billing",partition="0"} 12
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the store imports this module, not the reverse
    from kafkalab.ops.metrics.store import Histogram, Labels, Series

__all__ = ["CONTENT_TYPE", "QUANTILES", "prometheus_name", "render"]

#: The HTTP content type of this format, version included: Prometheus reads it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: The quantiles a histogram is exported with, as Prometheus labels them.
QUANTILES = ("0.5", "0.95", "0.99")


_INVALID = re.compile(r"[^a-zA-Z0-9_:]")


def prometheus_name(name: str) -> str:
    """A valid Prometheus metric or label name: other characters become ``_``.

    >>> prometheus_name("producer-metrics.record-send-rate")
    'producer_metrics_record_send_rate'
    >>> prometheus_name("9lives")
    '_9lives'
    """
    out = _INVALID.sub("_", name)
    return out if re.match(r"[a-zA-Z_:]", out) else "_" + out


def _label_text(labels: Labels) -> str:
    if not labels:
        return ""
    # The text format escapes backslash, double quote and newline in label values.
    esc = [(k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
           for k, v in labels]
    return "{" + ",".join(f'{prometheus_name(k)}="{v}"' for k, v in esc) + "}"


def _number(value: float | None) -> str:
    # None (a summary with no observations yet) is NaN, as Prometheus writes it.
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    # 10 significant digits: enough for any rate or latency, and it keeps
    # microsecond timings (1e-06) that rounding to decimal places would zero.
    return format(float(value), ".10g")


def render(series: Iterable[Series], histograms: Iterable[Histogram]) -> str:
    """The latest values in the Prometheus text exposition format (0.0.4).

    Histograms are exported as summaries (p50/p95/p99 quantiles, ``_sum``
    and ``_count``), which needs no bucket boundaries chosen in advance. A
    summary without observations yet has ``NaN`` quantiles, as Prometheus'
    own client libraries write them.
    """
    blocks: dict[str, tuple[str, list[str]]] = {}
    for s in series:
        if s.latest is None:
            continue
        name = prometheus_name(s.name)
        blocks.setdefault(name, (s.kind, []))[1].append(
            f"{name}{_label_text(s.labels)} {_number(s.latest)}")
    for h in histograms:
        name = prometheus_name(h.name)
        lines = blocks.setdefault(name, ("summary", []))[1]
        for q, v in zip(QUANTILES, h.summary().values(), strict=False):
            lines.append(f"{name}{_label_text(h.labels + (('quantile', q),))} {_number(v)}")
        lines.append(f"{name}_sum{_label_text(h.labels)} {_number(h.sum)}")
        lines.append(f"{name}_count{_label_text(h.labels)} {h.count}")
    out = []
    for name in sorted(blocks):
        kind, lines = blocks[name]
        out.append(f"# TYPE {name} {kind}")
        out.extend(lines)
    return "\n".join(out) + ("\n" if out else "")
