"""JupyterLab in headless Chromium, as a learner meets the course: Run All works.

JupyterLab starts the way ``kafkalab lab`` starts it (:func:`kafkalab.cli.lab_command`),
on a temporary copy of ``notebooks/`` (nothing in the repository is modified), with a
fresh Jupyter config and settings folder and without KAFKALAB_STRICT_CHECKS, so an
unsolved exercise behaves as it does for a learner. Chromium is driven over the
DevTools protocol (:mod:`tests.browser`); JupyterLab's own commands run the cells.

For a lesson and an exercises notebook: opening does not mark the notebook modified,
Run All reaches every cell, no output is a traceback or an error, INFO log lines are not
on stderr, and the widgets and Plotly figures the notebook makes are drawn. The Jupyter
news prompt never appears.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from kafkalab.cli import lab_command
from tests.browser import Browser, find_chromium
from tests.test_lab import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [
    "week08-production-readiness/01-metrics-and-lag.ipynb",  # logs at INFO, a live dashboard
    "week01-producers-consumers/03-consumer-groups.ipynb",  # a lesson with a FigureWidget
    "week01-producers-consumers/exercises.ipynb",           # unsolved, as derived
]

OPEN = """(async () => {
  const app = window.jupyterapp;
  await app.started; await app.restored;
  const widget = await app.commands.execute('docmanager:open', {path: %s, factory: 'Notebook'});
  await widget.context.ready;
  app.shell.activateById(widget.id);
  window.__kafkalab = widget;
  return true;
})()"""

# After the kernel is up and idle: JupyterLab has written what it writes on open.
STATE = """JSON.stringify((() => {
  const w = window.__kafkalab;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const outputs = cells.map(c => c.model.outputs.toJSON());
  return {
    kernel: kernel ? kernel.status : null,
    dirty: w.context.model.dirty,
    metadata: w.context.model.toJSON().metadata,
    counts: cells.map(c => c.model.executionCount),
    errors: outputs.flat().filter(o => o.output_type === 'error')
                   .map(o => o.ename + ': ' + o.evalue),
    stderr: [...w.node.querySelectorAll(
               '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')]
            .map(n => n.textContent),
    widgetOutputs: outputs.flat().filter(o => o.data && (
                     o.data['application/vnd.jupyter.widget-view+json'] ||
                     o.data['application/vnd.plotly.v1+json'])).length,
    widgetViews: w.node.querySelectorAll(
                   '.jp-OutputArea .js-plotly-plot, .jp-OutputArea .jupyter-widgets').length,
    news: document.body.innerText.includes('official Jupyter news'),
    announcements: window.jupyterapp.isPluginActivated(
                     '@jupyterlab/apputils-extension:announcements'),
  };
})())"""


def state(browser: Browser) -> dict:
    return json.loads(browser.evaluate(STATE))


def wait_until(browser: Browser, done, what: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        now = state(browser)
        if done(now):
            return now
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f} s; last state: {now}")
        time.sleep(0.5)


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a copy of the notebooks; yields its URL with the token."""
    root = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", root)
    port, token = free_port(), secrets.token_hex(16)
    cmd, env = lab_command(port, no_browser=True, root=root, extra=[
        f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True"])
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / "config"),  # no saved answer to the prompt
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    env.pop("KAFKALAB_STRICT_CHECKS", None)  # a learner's kernel: checkers report, never raise
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2,
                             params={"token": token}).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not answer"
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab?token={token}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server shuts its kernels down
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def test_run_all_in_jupyterlab(lab):
    browser = Browser(find_chromium())
    try:
        browser.call("Page.navigate", url=lab)
        deadline = time.monotonic() + 60
        while not browser.evaluate("!!(window.jupyterapp && window.jupyterapp.shell)"):
            assert time.monotonic() < deadline, "JupyterLab's page did not load"
            time.sleep(0.5)
        for path in NOTEBOOKS:
            browser.evaluate(OPEN % json.dumps(path), await_promise=True)
            opened = wait_until(browser, lambda s: s["kernel"] == "idle",
                                f"{path}: the kernel did not start", 60)
            assert not opened["dirty"], (f"{path} is marked modified right after opening; "
                                         f"its metadata is now {opened['metadata']}")

            browser.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            # Run All ends when every code cell has run, or stops at an error.
            final = wait_until(
                browser, lambda s: s["kernel"] == "idle" and (
                    all(c is not None for c in s["counts"]) or s["errors"]),
                f"{path}: Run All did not finish", 600)
            assert final["errors"] == [], f"{path}: {final['errors']}"
            assert all(c is not None for c in final["counts"]), f"{path}: {final['counts']}"
            tracebacks = [t for t in final["stderr"] if "Traceback" in t]
            assert tracebacks == [], f"{path}: {tracebacks}"
            info = [t for t in final["stderr"] if " INFO " in t]
            assert info == [], f"{path}: INFO lines in red stderr boxes: {info}"
            if final["widgetOutputs"]:
                views = wait_until(browser, lambda s: s["widgetViews"] > 0,
                                   f"{path}: no widget or Plotly figure was drawn", 30)
                assert views["widgetViews"] >= 1
            assert not final["news"], "the Jupyter news prompt appeared"
            assert final["announcements"] is False
            # leave the notebook unsaved and its kernel to the server's shutdown
    finally:
        browser.close()
