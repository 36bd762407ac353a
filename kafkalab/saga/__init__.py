"""Sagas: a long business transaction split into local steps, each with an undo.

A :class:`SagaStep` has two verbs, ``execute`` and ``compensate``. The
:class:`Orchestrator` is a pure state machine that runs the steps in order and,
when one fails or times out, runs the compensations of those that succeeded.
The order system of weeks 3 and 4 (:mod:`kafkalab.orders`) drives it from Kafka.
"""

from kafkalab.saga.orchestrator import TERMINAL, Command, Orchestrator, SagaState
from kafkalab.saga.step import Action, SagaStep

__all__ = ["Action", "Command", "Orchestrator", "SagaState", "SagaStep", "TERMINAL"]
