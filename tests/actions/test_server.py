"""The action server's entry point, started as a process: it serves every action of the package on 127.0.0.1 and
runs one (no trained model needed: the request is what Rasa would send)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_server_lists_and_runs_our_actions(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": "memory://", "EMBEDDING_BACKEND": "none",
           "INDEX_DIR": str(tmp_path / "index"), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "actions.server", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the action server did not start")
        names = {a["name"] for a in httpx.get(f"{base}/actions", timeout=5).json()}
        assert {"action_answer", "action_start_walkthrough", "action_feedback", "action_menu"} <= names
        body = {"next_action": "action_menu", "sender_id": "web:a", "version": "3.6.21", "domain": {},
                "tracker": {"sender_id": "web:a", "slots": {}, "latest_message": {"text": "menu", "intent": {}},
                            "events": [], "paused": False, "followup_action": None, "active_loop": {},
                            "latest_action_name": "action_listen"}}
        answer = httpx.post(f"{base}/webhook", json=body, timeout=60).json()
        (message,) = answer["responses"]
        assert message["custom"]["kind"] == "menu" and message["buttons"]
    finally:
        process.terminate()
        process.wait(timeout=10)
