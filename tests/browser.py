"""Headless Chromium for the browser tests, driven over the DevTools protocol.

Just enough of the protocol (navigate, evaluate JavaScript) with the
``websockets`` package: no Selenium or Playwright. Every outside host is
unresolvable, so a page must work offline. If Chromium is missing,
``scripts/install-system-deps.sh`` installs it; a test is skipped only if that
fails too (and fails under ``make test`` as root, see ``missing_system_tool``).
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.conftest import missing_system_tool

ROOT = Path(__file__).resolve().parents[1]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    script = ROOT / "scripts" / "install-system-deps.sh"
    done = subprocess.run(["sh", str(script)], check=False, capture_output=True, text=True, timeout=900)
    path = shutil.which("chromium")
    if not path:
        missing_system_tool("chromium is not installed and scripts/install-system-deps.sh "
                            f"could not install it: {(done.stdout + done.stderr)[-500:]}")
    return path


class Browser:
    """Just enough of the DevTools protocol: navigate and evaluate JavaScript."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="kafkalab-chromium-")
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--window-size=1280,900",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", "--remote-allow-origins=*",
             # Any host but this machine fails to resolve: a CDN could not load.
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start: "
                                   + self.proc.stderr.read().decode()[-1000:] if self.proc.poll()
                                   is not None else "chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        url = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
        self._connection = connect(url, max_size=None, open_timeout=10)
        self.ws = self._connection.__enter__()
        self.ids = itertools.count(1)

    def call(self, method: str, **params):
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv(timeout=20))
            if reply.get("id") == msg_id:  # other messages are events: skip them
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
        raise TimeoutError(method)

    def evaluate(self, expression: str, *, await_promise: bool = False):
        """The value of a JavaScript expression (of the promise it gives, with ``await_promise``)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=await_promise)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(details.get("exception", {}).get("description") or details["text"])
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self._connection.__exit__(None, None, None)
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            shutil.rmtree(self.profile, ignore_errors=True)
