"""Retention: `python -m dashboard purge` deletes comments older than FEEDBACK_RETENTION_DAYS; ratings stay."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from dashboard_support import TEST_REDIS_URL

from common.records import COMMENT_KEY
from common.records import FEEDBACK_STREAM as STREAM
from dashboard.store import purge_action, purge_comments

DAY = 86400
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("age_days", "ttl", "expected"), [
    (400, 10 * DAY, ("delete", 0)),  # older than a year: gone, whatever its TTL says
    (365.5, -1, ("delete", 0)),
    (100, 300 * DAY, ("expire", 265 * DAY)),  # TTL set under a longer retention: capped
    (100, -1, ("expire", 265 * DAY)),  # no TTL at all: given one
    (100, 200 * DAY, ("keep", 0)),  # already expires before the retention ends
])
def test_purge_action(age_days: float, ttl: int, expected: tuple[str, int]) -> None:
    now = 1_800_000_000.0
    entry_ms = int((now - age_days * DAY) * 1000)
    assert purge_action(entry_ms, ttl, now, 365 * DAY) == expected


def add_feedback(client: redis.Redis, age_days: float, ttl_days: int | None, now: float) -> str:
    ms = int((now - age_days * DAY) * 1000)
    entry_id = client.xadd(STREAM, {"kind": "comment", "at": f"{ms / 1000:.3f}"}, id=f"{ms}-0")
    key = COMMENT_KEY.format(id=entry_id)
    client.set(key, "góp ý", ex=ttl_days * DAY if ttl_days else None)
    return entry_id


@pytest.mark.integration
def test_purge_deletes_old_comments_and_keeps_the_stream(dashboard_redis: redis.Redis) -> None:
    now = time.time()
    old = add_feedback(dashboard_redis, 200, 365, now)  # written when retention was 365 days
    forever = add_feedback(dashboard_redis, 150, None, now)
    recent = add_feedback(dashboard_redis, 10, 365, now)
    dashboard_redis.set("feedback:comment:not-an-id", "x")
    result = purge_comments(dashboard_redis, retention_days=180, now=now)
    assert (result.deleted, result.shortened, result.kept) == (1, 2, 0)
    assert dashboard_redis.get(COMMENT_KEY.format(id=old)) is None
    assert 169 * DAY < dashboard_redis.ttl(COMMENT_KEY.format(id=recent)) <= 170 * DAY
    assert 29 * DAY < dashboard_redis.ttl(COMMENT_KEY.format(id=forever)) <= 30 * DAY
    assert dashboard_redis.xlen(STREAM) == 3  # aggregates stay
    assert dashboard_redis.get("feedback:comment:not-an-id") == "x"


@pytest.mark.integration
def test_purge_command(dashboard_redis: redis.Redis) -> None:
    now = time.time()
    old = add_feedback(dashboard_redis, 40, 365, now)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": TEST_REDIS_URL, "FEEDBACK_RETENTION_DAYS": "30",
           "DASHBOARD_SECRET_KEY": "s" * 40}
    done = subprocess.run([sys.executable, "-m", "dashboard", "purge"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "deleted 1 comments" in done.stdout
    assert dashboard_redis.get(COMMENT_KEY.format(id=old)) is None and dashboard_redis.xlen(STREAM) == 1
