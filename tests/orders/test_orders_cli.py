"""The plain-Python twin, as a user runs it: ``python -m kafkalab.orders up | demo | rebuild``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from kafkalab.net import free_port

pytestmark = pytest.mark.slow

VERBATIM = ('{"customerId": "CUST-001", "items": [{"productId": "ITEM-001", "name": "Laptop", '
            '"price": 1500, "quantity": 1}]}')


def test_up_serves_the_verbatim_post_to_completed_and_analytics(tmp_path):
    port = free_port()
    prefix = f"cli{uuid.uuid4().hex[:6]}-"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kafkalab.orders", "up", "--port", str(port), "--duration", "60",
         "--prefix", prefix, "--data-dir", str(tmp_path)],
        env={**os.environ, "LOG_LEVEL": "warning"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # wait for the server (bounded)
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the API did not come up within 60 s"
            time.sleep(0.2)
        r = httpx.post(f"{base}/api/orders", content=VERBATIM,
                       headers={"Content-Type": "application/json"}, timeout=10)
        assert r.status_code == 202, r.text
        order_id = r.json()["orderId"]
        status = None
        for _ in range(300):
            status = httpx.get(f"{base}/api/orders/{order_id}", timeout=5).json()["status"]
            if status == "completed":
                break
            time.sleep(0.1)
        assert status == "completed"
        for _ in range(100):
            stats = httpx.get(f"{base}/api/analytics", timeout=5).json()
            if stats["byStatus"]["completed"] == 1:
                break
            time.sleep(0.1)
        assert stats["orders"]["total"] == 1 and stats["revenue"] == 1500
    finally:
        proc.terminate()  # SIGTERM: a graceful stop
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0


def test_demo_checks_invariants_and_rebuild_replays_the_read_model(tmp_path):
    args = ["--prefix", f"demo{uuid.uuid4().hex[:6]}-", "--data-dir", str(tmp_path)]
    env = {**os.environ, "LOG_LEVEL": "warning"}
    demo = subprocess.run([sys.executable, "-m", "kafkalab.orders", "demo", "--orders", "20",
                           "--decline-rate", "0.3", "--stock", "12", *args], env=env, capture_output=True,
                          text=True, timeout=180)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "all invariants hold" in demo.stdout
    rebuild = subprocess.run([sys.executable, "-m", "kafkalab.orders", "rebuild", *args], env=env,
                             capture_output=True, text=True, timeout=120)
    assert rebuild.returncode == 0, rebuild.stderr[-2000:]
    assert "rebuilt 20 orders" in rebuild.stdout
