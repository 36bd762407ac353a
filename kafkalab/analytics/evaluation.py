"""Score detectors on a labelled stream: precision, recall and ROC-AUC.

* **precision**: of the alerts raised, the share that were real anomalies;
* **recall**: of the real anomalies, the share that raised an alert;
* **ROC-AUC**: the chance that a random anomaly scores higher than a random
  normal point, regardless of the threshold (0.5 is a coin toss, 1 perfect).

>>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
0.75
>>> roc_auc([0, 1], [0.5, 0.5])            # ties count half
0.5
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kafkalab.analytics.monitor import AnomalyMonitor

__all__ = ["Report", "evaluate", "roc_auc"]


def roc_auc(labels: Iterable[int | bool], scores: Iterable[float]) -> float:
    """Exact ROC-AUC by ranks (the Mann-Whitney U statistic), ties averaged."""
    pairs = sorted(zip(scores, labels, strict=False), key=lambda p: p[0])
    ranks: list[float] = [0.0] * len(pairs)
    i = 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    pos = sum(1 for _, y in pairs if y)
    neg = len(pairs) - pos
    if pos == 0 or neg == 0:
        raise ValueError("ROC-AUC needs both anomalies and normal points in the labels")
    rank_sum = sum(r for r, (_, y) in zip(ranks, pairs, strict=False) if y)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


@dataclass(frozen=True)
class Report:
    """How one detector did on one labelled stream."""

    detector: str
    threshold: float
    points: int
    anomalies: int
    true_positives: int
    false_positives: int
    roc_auc: float

    @property
    def precision(self) -> float:
        raised = self.true_positives + self.false_positives
        return self.true_positives / raised if raised else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.anomalies if self.anomalies else 0.0

    def to_record(self) -> dict[str, Any]:
        return {"detector": self.detector, "threshold": self.threshold,
                "precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "roc_auc": round(self.roc_auc, 3), "alerts": self.true_positives +
                self.false_positives, "anomalies": self.anomalies, "points": self.points}

    def __str__(self) -> str:
        return (f"{self.detector:<14} precision {self.precision:.2f}  recall {self.recall:.2f}  "
                f"ROC-AUC {self.roc_auc:.3f}  ({self.true_positives + self.false_positives} "
                f"alerts, {self.anomalies} anomalies in {self.points} points)")


def evaluate(monitor: AnomalyMonitor, series: Iterable[tuple[int, dict[str, Any]]],
             is_anomalous: Callable[[int, str], bool]) -> Report:
    """Run ``monitor`` over ``(window_start_ms, metrics)`` in time order and score it.

    Every (window, metric) pair is one point; its label comes from
    ``is_anomalous(window_start_ms, metric)``, e.g. the generator's labels.
    """
    labels: list[bool] = []
    scores: list[float] = []
    tp = fp = 0
    for start, metrics in series:
        alerted = {a.metric for a in monitor.process(start, metrics)}
        for window_start, metric, score in monitor.scores[-len(metrics):]:
            label = is_anomalous(window_start, metric)
            labels.append(label)
            scores.append(score)
            if metric in alerted:
                tp += label
                fp += not label
    return Report(detector=monitor.name, threshold=monitor.threshold, points=len(labels),
                  anomalies=sum(labels), true_positives=tp, false_positives=fp,
                  roc_auc=roc_auc(labels, scores))
