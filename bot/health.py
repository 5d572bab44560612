"""`GET /healthz` for every gateway: up when Redis answers (tickets, streams and held messages live there)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web


def redis_health(redis: Any) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler answering 200 when Redis answers, 503 otherwise (Rasa being down is handled by holding messages)."""

    async def healthz(request: web.Request) -> web.Response:
        try:
            await redis.ping()
        except Exception:  # noqa: BLE001 - reported, not raised
            return web.json_response({"status": "redis unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    return healthz
