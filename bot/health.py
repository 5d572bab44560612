"""`GET /healthz` and `GET /metrics` for every gateway: up when Redis answers (tickets, streams and held messages live
there), and the gateway's Prometheus metrics with the gauges Redis holds, read at scrape time."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.handoff import OPEN_SET, outbox
from bot.inbound import stream_of
from bot.quota import QUOTA_KEY
from bot.state import decode
from common.metrics import CONTENT_TYPE, GatewayMetrics, render

logger = logging.getLogger(__name__)


def redis_health(redis: Any) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler answering 200 when Redis answers, 503 otherwise (Rasa being down is handled by holding messages)."""

    async def healthz(request: web.Request) -> web.Response:
        try:
            await redis.ping()
        except Exception:  # noqa: BLE001 - reported, not raised
            return web.json_response({"status": "redis unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    return healthz


def stream_groups(channel: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    """The (stream, consumer group) pairs a gateway of `channel` reads: its intake and its outbox, plus `extra`."""
    return [(stream_of(channel), "gateway"), (outbox(channel), "gateway"), *extra]


def redis_metrics(metrics: GatewayMetrics, redis: Any, streams: list[tuple[str, str]],
                  zalo_quota: bool = False) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`GET /metrics`: the gateway's counters plus gauges read from Redis now (handoffs, stream lag, Zalo quota).

    A part Redis cannot answer is left out of this scrape and counted as a Redis error; the scrape still answers.
    """

    async def scrape(request: web.Request) -> web.Response:
        await _read_handoffs(metrics, redis)
        await _read_streams(metrics, redis, streams)
        if zalo_quota:
            await _read_quota(metrics, redis)
        return web.Response(body=render(metrics.registry), headers={"Content-Type": CONTENT_TYPE})

    return scrape


async def _read_handoffs(metrics: GatewayMetrics, redis: Any) -> None:
    """Open tickets, and those no volunteer has claimed (one status read per open ticket, pipelined)."""
    try:
        ids = [decode(i) for i in await redis.zrange(OPEN_SET, 0, -1)]
        claimed: list[Any] = []
        if ids:
            async with redis.pipeline(transaction=False) as pipe:
                for ticket_id in ids:
                    pipe.hget(f"gw:ticket:{ticket_id}", "claimed_by")
                claimed = await pipe.execute()
    except Exception as exc:  # noqa: BLE001 - a scrape must answer while Redis is away
        _skip(metrics, exc, "troly_handoffs_open", "troly_handoffs_unclaimed")
        return
    metrics.snapshot.set("troly_handoffs_open", [((), float(len(ids)))])
    metrics.snapshot.set("troly_handoffs_unclaimed", [((), float(sum(1 for who in claimed if not decode(who))))])


async def _read_streams(metrics: GatewayMetrics, redis: Any, streams: list[tuple[str, str]]) -> None:
    """XINFO GROUPS of each stream: entries not yet delivered (`lag`) and delivered but unacknowledged (`pending`)."""
    from redis.exceptions import ResponseError

    lag: list[tuple[tuple[str, ...], float]] = []
    pending: list[tuple[tuple[str, ...], float]] = []
    try:
        for stream, group in streams:
            try:
                groups = await redis.xinfo_groups(stream)
            except ResponseError:  # the stream does not exist yet: nothing has been written to it
                continue
            for info in groups:
                if decode(info.get("name")) != group:
                    continue
                pending.append(((stream, group), float(info.get("pending") or 0)))
                if info.get("lag") is not None:  # Redis cannot tell after entries were deleted out of order
                    lag.append(((stream, group), float(info["lag"])))
    except Exception as exc:  # noqa: BLE001 - a scrape must answer while Redis is away
        _skip(metrics, exc, "troly_stream_lag", "troly_stream_pending")
        return
    metrics.snapshot.set("troly_stream_lag", lag)
    metrics.snapshot.set("troly_stream_pending", pending)


async def _read_quota(metrics: GatewayMetrics, redis: Any) -> None:
    """What Zalo last said was left of each quota (`remain` of the `quota` object it returns with a send)."""
    try:
        raw = await redis.hgetall(QUOTA_KEY)
    except Exception as exc:  # noqa: BLE001 - a scrape must answer while Redis is away
        _skip(metrics, exc, "troly_zalo_oa_quota_left")
        return
    left: list[tuple[tuple[str, ...], float]] = []
    for kind, value in raw.items():
        try:
            left.append(((decode(kind),), float(json.loads(decode(value)).get("remain"))))
        except (ValueError, TypeError, AttributeError):  # a quota without a number left says nothing to graph
            continue
    metrics.snapshot.set("troly_zalo_oa_quota_left", left)


def _skip(metrics: GatewayMetrics, exc: BaseException, *names: str) -> None:
    """Leave gauges out of this scrape and count the failure."""
    logger.warning("Cannot read %s for /metrics (%s)", ", ".join(names), exc.__class__.__name__)
    metrics.redis_error("scrape")
    for name in names:
        metrics.snapshot.skip(name)
