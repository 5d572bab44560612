"""The action server's /metrics, on the real Sanic app (driven over ASGI in this process, Redis in memory)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sanic import Sanic

from actions import services
from actions.analytics import AnalyticsLog, Context
from actions.server import create_app
from common.metrics import render, value


def call(action: str, text: str) -> dict[str, Any]:
    """What Rasa posts to /webhook to run one action."""
    return {"next_action": action, "sender_id": "web:metrics", "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": "web:metrics", "slots": {}, "latest_message": {"text": text, "intent": {}},
                        "events": [], "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": "action_listen"}}


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("EMBEDDING_BACKEND", "none")
    monkeypatch.setenv("INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setattr("actions.server._warm", lambda: None)  # no index for these calls
    monkeypatch.setattr(Sanic, "test_mode", True)  # each test builds the app again under rasa-sdk's one name
    services.get_metrics.cache_clear()
    app = create_app()
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    # Sanic serves ASGI only after its lifespan start-up (routes finalised, loop known)
    await inbox.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send))
    await asyncio.wait_for(started.wait(), 30)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://actions") as c:
        yield c
    await inbox.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(lifespan, 10)
    services.get_metrics.cache_clear()


async def test_an_action_call_is_counted_and_timed(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics")).text
    assert value(before, "troly_action_turns_total", outcome="ok") is None
    response = await client.post("/webhook", json=call("action_menu", "menu"))
    assert response.status_code == 200
    response = await client.post("/webhook", json=call("action_handoff", "cho tôi gặp người thật, sđt 0912345678"))
    assert response.status_code == 200
    scraped = await client.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert value(text, "troly_action_turns_total", outcome="ok") == 2
    assert value(text, "troly_action_seconds_count", action="action_menu") == 1
    assert value(text, "troly_action_replies_total", kind="handoff") == 1
    assert "web:metrics" not in text and "0912345678" not in text


async def test_an_unknown_action_is_an_error_without_a_label_of_its_own(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhook", json=call("action_made_up_by_someone", "x"))
    assert response.status_code == 404
    text = (await client.get("/metrics")).text
    assert value(text, "troly_action_turns_total", outcome="error") == 1
    assert value(text, "troly_action_seconds_count", action="unknown") == 1
    assert "action_made_up_by_someone" not in text


def test_a_failed_analytics_write_counts_a_redis_error() -> None:
    services.get_metrics.cache_clear()
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    log = AnalyticsLog(dead, on_error=lambda: services.get_metrics().redis_error("analytics"))
    assert log.reply(Context("web", "vi-du", "r1"), "answer", guide_id="g") is None
    text = render(services.get_metrics().registry).decode()
    assert value(text, "troly_redis_errors_total", component="analytics") == 1
