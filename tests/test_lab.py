"""`make lab` runs `kafkalab lab`: it must bring up JupyterLab on the course
(as root too, as in CI) and stop cleanly."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from kafkalab.net import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_lab_serves_jupyterlab_on_the_notebooks(tmp_path):
    port = free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    proc = subprocess.Popen([sys.executable, "-m", "kafkalab", "lab", "--no-browser",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert body is not None, "JupyterLab did not answer"
        assert '"version"' in body
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    assert str(ROOT / "notebooks") in out or "notebooks" in out
