"""Package namespaces that import their modules on first use (PEP 562).

``from kafkalab.analytics import EventGenerator`` should not cost the import of
FastAPI, river and SciPy that other parts of the package need: a command's
``--help`` took 5 s and more, and every notebook kernel or subprocess that
touched one name paid for all of them. A package lists which module holds
each public name; the module is imported when the name is first asked for.

>>> getattr_, dir_ = lazy("kafkalab", {"Settings": "kafkalab.settings"})
>>> getattr_("Settings").__name__
'Settings'
>>> getattr_("Nope")
Traceback (most recent call last):
...
AttributeError: module 'kafkalab' has no attribute 'Nope'
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy(package: str, where: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: name -> the module that defines it.

    A name that is also the name of its own submodule (``analytics.bridge``, the function
    in ``analytics/bridge.py``) is bound now: importing that submodule, for whatever
    reason, would otherwise make the package attribute the module, and ``__getattr__``
    is only asked for attributes that do not exist.
    """
    for name, module in where.items():
        if module == f"{package}.{name}":
            setattr(sys.modules[package], name, getattr(importlib.import_module(module), name))

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
