"""Local ports for the servers the course starts: brokers, PostgreSQL, web apps, JupyterLab.

>>> 0 < free_port() < 65536
True
"""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now.

    The operating system picks it (binding port 0), so two callers do not get
    the same one at the same moment. It is only *free now*: another process
    may take it before the caller binds it, so servers started on it should
    fail loudly on "address in use" rather than wait.

    Parameters
    ----------
    host : str
        The interface to ask about; loopback, since every server the course
        starts listens on this machine only.

    Returns
    -------
    int
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]
