"""A saga step: one local transaction in one service, and how to undo it.

A step has two verbs. ``execute`` returns the command that asks a service to
do its part; ``compensate`` returns the command that undoes it (or ``None`` if
there is nothing to undo). The step also names the reply types that mean
"done", "failed" and "undone", so the orchestrator can match replies to it.

>>> class Reserve(SagaStep):
...     name = "inventory"
...     succeeded, failed, compensated = ("InventoryReserved",), ("InventoryRejected",), ("InventoryReleased",)
...     def execute(self, saga):
...         return "ReserveInventory", {"items": saga.data["items"]}
...     def compensate(self, saga):
...         return "ReleaseInventory", {"reason": saga.reason}
>>> Reserve().replies()
{'InventoryReserved': 'succeeded', 'InventoryRejected': 'failed', 'InventoryReleased': 'compensated'}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kafkalab.saga.orchestrator import SagaState

__all__ = ["Action", "SagaStep"]

#: What ``execute``/``compensate``/``confirm`` return: a command type and its data.
Action = tuple[str, dict[str, Any]]


class SagaStep:
    """Base class of saga steps; subclass it and fill in the class attributes.

    Attributes
    ----------
    name
        Unique within a saga; used in logs and in command ids.
    succeeded, failed, compensated
        Reply event types meaning the step worked, failed (and did nothing),
        or was undone.
    timeout_s
        Seconds to wait for a reply before the step counts as failed and is
        compensated (``None``: the orchestrator's default).
    """

    name: str = "step"
    succeeded: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    compensated: tuple[str, ...] = ()
    timeout_s: float | None = None

    def execute(self, saga: SagaState) -> Action:
        """The command that performs this step."""
        raise NotImplementedError(f"{type(self).__name__}.execute")

    def compensate(self, saga: SagaState) -> Action | None:
        """The command that undoes this step; ``None`` if nothing needs undoing.

        It must be safe even if ``execute`` never took effect: a step that
        timed out is compensated without knowing whether it ran.
        """
        return None

    def confirm(self, saga: SagaState) -> Action | None:
        """Optional: a command sent once the whole saga has succeeded
        (e.g. capture a payment that was only held)."""
        return None

    def on_success(self, saga: SagaState, reply: dict[str, Any]) -> None:
        """Keep what later steps need from the success reply (default: all of it)."""
        saga.data[self.name] = reply

    def replies(self) -> dict[str, str]:
        """Reply type -> what it means for this step."""
        out = {t: "succeeded" for t in self.succeeded}
        out.update({t: "failed" for t in self.failed})
        out.update({t: "compensated" for t in self.compensated})
        return out
