"""`tools/stack.sh serve` brings the assistant back after its processes were killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.integration.conftest import ACTIONS_PORT, RASA_PORT, REDIS_URL, ROOT, Resident

pytestmark = pytest.mark.integration
RUN_DIR = ROOT / ".run" / "integration"


def test_serve_right_after_kill_9_starts_what_was_killed(stack: str) -> None:
    env = {**os.environ, "REDIS_URL": REDIS_URL, "RASA_PORT": str(RASA_PORT), "ACTIONS_PORT": str(ACTIONS_PORT),
           "RUN_DIR": str(RUN_DIR)}
    for name in ("rasa", "actions"):
        pid = int((RUN_DIR / f"{name}.pid").read_text())
        os.kill(pid, signal.SIGKILL)  # the pid file still names it; the process may linger a moment
    started = time.monotonic()

    result = subprocess.run([str(ROOT / "tools" / "stack.sh"), "serve"], env=env, capture_output=True, text=True,
                            timeout=300)

    assert result.returncode == 0, result.stderr[-2000:]
    assert time.monotonic() - started < 300
    replies = Resident(stack).say("xin chào")
    assert replies[0]["text"]
