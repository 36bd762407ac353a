"""`make lab` runs `kafkalab lab`: it must bring up JupyterLab on the course
(as root too, as in CI) and stop cleanly."""

import json
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


def test_lab_starts_without_the_jupyter_news_prompt():
    """The announcements plugin (the "get notified about Jupyter news?" pop-up and the
    news fetch) is disabled through page config JupyterLab reads at start-up."""
    from kafkalab.cli import lab_command

    cmd, env = lab_command(8888, no_browser=True)
    assert "--LabApp.news_url=None" in cmd
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in cmd
    code = ("import json; from jupyterlab_server.config import get_static_page_config; "
            "print(json.dumps(get_static_page_config(level='all')))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    disabled = json.loads(out).get("disabledExtensions", {})
    assert disabled.get("@jupyterlab/apputils-extension:announcements") is True
