"""kafkalab: a hands-on Apache Kafka course for Python people.

The package holds everything the notebooks lean on: settings from the
environment (:mod:`kafkalab.settings`), a local Apache Kafka broker
(:mod:`kafkalab.broker`), thin clients over kafka-python
(:mod:`kafkalab.clients`), self-checking exercises (:mod:`kafkalab.exercises`)
and test helpers (:mod:`kafkalab.testing`).
"""

import logging
import sys

from kafkalab.settings import Settings, SettingsError, get_settings

__version__ = "0.1.0"

__all__ = ["Settings", "SettingsError", "__version__", "configure_logging", "get_settings"]

logging.getLogger("kafkalab").addHandler(logging.NullHandler())


def _in_kernel() -> bool:
    """True in a Jupyter kernel: ``sys.stdout`` is ipykernel's stream, shown in the notebook."""
    return type(sys.stdout).__module__.startswith("ipykernel")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is *now* (Jupyter and pytest replace it).

    In a notebook kernel, records below WARNING go to ``sys.stdout`` instead:
    JupyterLab paints every stderr line red, and an INFO line is not an error.
    """

    _kafkalab: bool  # set on the one configure_logging adds (declared only: no class default)

    @property
    def stream(self):  # noqa: D401
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING or not _in_kernel():
            super().emit(record)
            return
        try:
            sys.stdout.write(self.format(record) + self.terminator)
            sys.stdout.flush()
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def configure_logging(level: str | None = None) -> None:
    """Show kafkalab's log lines (at ``LOG_LEVEL``) on stderr; for notebooks and the CLI.

    In a notebook kernel, INFO and DEBUG lines go to stdout (plain output, not
    a red error box); warnings and errors stay on stderr.

    kafka-python's own loggers are kept at WARNING: their INFO lines are many.
    """
    settings = get_settings()
    number = getattr(logging, (level or settings.log_level).upper())
    root = logging.getLogger("kafkalab")
    if not any(getattr(h, "_kafkalab", False) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                               "%H:%M:%S"))
        handler._kafkalab = True
        root.addHandler(handler)
    for h in root.handlers:
        if getattr(h, "_kafkalab", False):
            # On the handler too: kafkalab.logs.install() may lower a logger's
            # level to ship INFO records, which should not then flood stderr.
            h.setLevel(number)
    root.setLevel(number)
    logging.getLogger("kafka").setLevel(max(number, logging.WARNING))
