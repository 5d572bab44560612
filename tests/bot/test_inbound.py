"""bot.inbound: events kept in Redis before the channel hears 200, handled once acknowledged, taken over from a
replica that died holding them, in order per conversation. Real Redis (db 10)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.inbound import Inbound, stream_of
from tests.bot.gateways import eventually


@pytest.fixture
async def stop() -> AsyncIterator[asyncio.Event]:
    event = asyncio.Event()
    yield event
    event.set()


def recorder(log: list[tuple[str, Any]], delay: float = 0.0, fail: set[Any] | None = None) -> Any:
    async def handle(conv: str, event: dict[str, Any]) -> None:
        if fail and event["n"] in fail:
            fail.discard(event["n"])  # fails once, then works
            raise RuntimeError("Rasa restarting")
        await asyncio.sleep(delay)
        log.append((conv, event["n"]))

    return handle


async def test_an_event_is_handled_and_acknowledged(aredis: Any, stop: asyncio.Event) -> None:
    log: list[tuple[str, Any]] = []
    inbound = Inbound(aredis, "zalo", recorder(log), consumer="a")
    await inbound.put("zalo:u1", {"n": 1})
    task = asyncio.create_task(inbound.run(stop))

    assert await inbound.wait_idle(5)
    assert log == [("zalo:u1", 1)]
    assert (await aredis.xpending(stream_of("zalo"), "gateway"))["pending"] == 0
    stop.set()
    await task


async def test_events_of_a_dead_replica_are_taken_over(aredis: Any, stop: asyncio.Event) -> None:
    # replica A read two events and was killed before handling them
    dead = Inbound(aredis, "zalo", recorder([]), consumer="dead")
    await dead.put("zalo:u1", {"n": 1})
    await dead.put("zalo:u2", {"n": 2})
    await aredis.xgroup_create(stream_of("zalo"), "gateway", id="0", mkstream=True)
    await aredis.xreadgroup("gateway", "dead", {stream_of("zalo"): ">"}, count=10)

    log: list[tuple[str, Any]] = []
    alive = Inbound(aredis, "zalo", recorder(log), consumer="alive", claim_idle_s=0.2)
    task = asyncio.create_task(alive.run(stop))

    await eventually(lambda: len(log) == 2, timeout=10, what="the abandoned events handled")
    assert sorted(log) == [("zalo:u1", 1), ("zalo:u2", 2)]
    await eventually(alive.wait_idle, timeout=5, what="all acknowledged")
    stop.set()
    await task


async def test_a_failed_event_stays_pending_and_is_handled_later(aredis: Any, stop: asyncio.Event) -> None:
    log: list[tuple[str, Any]] = []
    inbound = Inbound(aredis, "zalobot", recorder(log, fail={1}), consumer="a", claim_idle_s=0.2)
    await inbound.put("zalobot:c1", {"n": 1})
    task = asyncio.create_task(inbound.run(stop))

    await eventually(lambda: log == [("zalobot:c1", 1)], timeout=10, what="the retried event")
    stop.set()
    await task


async def test_one_conversation_in_order_others_in_parallel(aredis: Any, stop: asyncio.Event) -> None:
    log: list[tuple[str, Any]] = []
    busy: set[str] = set()
    overlaps: list[int] = []

    async def handle(conv: str, event: dict[str, Any]) -> None:
        assert conv not in busy  # never two events of one conversation at once
        busy.add(conv)
        overlaps.append(len(busy))
        await asyncio.sleep(0.02)
        log.append((conv, event["n"]))
        busy.discard(conv)

    inbound = Inbound(aredis, "telegram", handle, consumer="a")
    for n in range(5):
        await inbound.put("telegram:1", {"n": n})
        await inbound.put("telegram:2", {"n": 10 + n})
    task = asyncio.create_task(inbound.run(stop))

    assert await inbound.wait_idle(10)
    assert [n for conv, n in log if conv == "telegram:1"] == [0, 1, 2, 3, 4]
    assert [n for conv, n in log if conv == "telegram:2"] == [10, 11, 12, 13, 14]
    assert max(overlaps) == 2  # the two conversations were handled side by side
    stop.set()
    await task


async def test_what_waits_is_masked_and_deleted_once_handled(aredis: Any, stop: asyncio.Event) -> None:
    seen: list[dict[str, Any]] = []

    async def handle(conv: str, event: dict[str, Any]) -> None:
        seen.append(event)

    inbound = Inbound(aredis, "zalo", handle, consumer="a")
    await inbound.put("zalo:u1", {"message": {"msg_id": "m1", "text": "sđt 0912345678, mã OTP 482913"}})
    [(_, fields)] = await aredis.xrange(stream_of("zalo"))
    assert "0912345678" not in fields["event"] and "482913" not in fields["event"]
    task = asyncio.create_task(inbound.run(stop))

    assert await inbound.wait_idle(5)
    assert seen == [{"message": {"msg_id": "m1", "text": "sđt [SĐT], mã OTP [MÃ]"}, "_shared_secret": True}]
    assert await aredis.xlen(stream_of("zalo")) == 0
    stop.set()
    await task
