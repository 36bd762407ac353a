"""Week 4 checkers: each passes a right answer and rejects wrong ones in plain words.

(Week 3's are in test_week03.py.)"""

from __future__ import annotations

import pytest

from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week04 import check_loyalty_step, check_shipped_twice
from kafkalab.saga import SagaStep


class Loyalty(SagaStep):
    name = "loyalty"
    succeeded, failed, compensated = ("PointsAwarded",), ("PointsRejected",), ("PointsRevoked",)

    def execute(self, saga):
        return "AwardPoints", {"customerId": saga.data["customerId"], "points": saga.data["total"] // 100}

    def compensate(self, saga):
        return "RevokePoints", {"customerId": saga.data["customerId"], "points": saga.data["total"] // 100}


class NoCompensation(Loyalty):
    def compensate(self, saga):
        return None


class WrongReplies(Loyalty):
    compensated = ()


class CompensatesOnlyIfAwarded(Loyalty):
    def compensate(self, saga):
        if "loyalty" not in saga.data:  # depends on the reply: wrong for a timed-out step
            return None
        return super().compensate(saga)


def test_loyalty_step():
    assert check_loyalty_step(Loyalty).passed
    with pytest.raises(ExerciseFailed, match="but no RevokePoints"):
        check_loyalty_step(NoCompensation)
    with pytest.raises(ExerciseFailed, match="compensated must hold 'PointsRevoked'"):
        check_loyalty_step(WrongReplies)
    with pytest.raises(ExerciseFailed, match="must not depend on the reply"):
        check_loyalty_step(CompensatesOnlyIfAwarded)


def test_shipped_twice():
    def right(events):
        ids = {}
        for e in events:
            if e.event_type == "ShipmentCreated":
                ids.setdefault(e.order_id, set()).add(e.data["shipmentId"])
        return {o for o, s in ids.items() if len(s) > 1}

    def counts_events(events):
        n = {}
        for e in events:
            n[e.order_id] = n.get(e.order_id, 0) + 1
        return {o for o, k in n.items() if k > 1}

    assert check_shipped_twice(right).passed
    with pytest.raises(ExerciseFailed, match="Count distinct shipmentIds per order"):
        check_shipped_twice(counts_events)
