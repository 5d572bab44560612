"""bot.inbound: events kept in Redis before the channel hears 200, handled once acknowledged, taken over from a
replica that died holding them, in order per conversation. Real Redis (db 10)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.inbound import Inbound, order_of, stream_of
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


# --- order across replicas ---------------------------------------------------------------------------------------


async def test_two_replicas_keep_one_conversations_order(aredis: Any, stop: asyncio.Event) -> None:
    # the first event is slow on replica A; replica B reads the second and must wait for it
    log: list[Any] = []
    busy: set[str] = set()

    async def handle(conv: str, event: dict[str, Any]) -> None:
        assert conv not in busy  # never two events of one conversation at once, even on two replicas
        busy.add(conv)
        await asyncio.sleep(0.3 if event["n"] == 0 else 0.01)
        log.append(event["n"])
        busy.discard(conv)

    a = Inbound(aredis, "zalobot", handle, consumer="a")
    b = Inbound(aredis, "zalobot", handle, consumer="b")
    await aredis.xgroup_create(stream_of("zalobot"), "gateway", id="0", mkstream=True)
    for n in range(6):
        await a.put("zalobot:c1", {"n": n})
    # each replica reads every other event, as two consumers of one group do under load
    for n in range(6):
        await aredis.xreadgroup("gateway", "a" if n % 2 == 0 else "b", {stream_of("zalobot"): ">"}, count=1)
    tasks = [asyncio.create_task(a.run(stop)), asyncio.create_task(b.run(stop))]

    await eventually(lambda: len(log) == 6, timeout=10, what="all six handled")
    assert log == [0, 1, 2, 3, 4, 5]
    assert await a.wait_idle(5) and await b.wait_idle(5)
    assert not await aredis.exists(order_of("zalobot", "zalobot:c1"))
    stop.set()
    await asyncio.gather(*tasks)


async def test_a_later_event_waits_for_the_one_a_dead_replica_held(aredis: Any, stop: asyncio.Event) -> None:
    log: list[Any] = []
    await aredis.xgroup_create(stream_of("zalobot"), "gateway", id="0", mkstream=True)
    dead = Inbound(aredis, "zalobot", recorder([]), consumer="dead")
    await dead.put("zalobot:c1", {"n": 1})
    await aredis.xreadgroup("gateway", "dead", {stream_of("zalobot"): ">"}, count=1)  # read, then killed
    await dead.put("zalobot:c1", {"n": 2})
    await dead.put("zalobot:c2", {"n": 3})

    alive = Inbound(aredis, "zalobot", recorder(log), consumer="alive", claim_idle_s=1.0)
    task = asyncio.create_task(alive.run(stop))

    # the other conversation is not held up
    await eventually(lambda: ("zalobot:c2", 3) in log, timeout=5, what="the other conversation")
    assert ("zalobot:c1", 2) not in log
    await eventually(lambda: len(log) == 3, timeout=10, what="the taken-over event, then the later one")
    assert [n for conv, n in log if conv == "zalobot:c1"] == [1, 2]
    stop.set()
    await task


async def test_a_live_replicas_waiting_events_are_not_taken_over(aredis: Any, stop: asyncio.Event) -> None:
    # A handles a slow first event for longer than the claim time: its second event must stay A's, handled once
    log: list[Any] = []

    async def slow_first(conv: str, event: dict[str, Any]) -> None:
        await asyncio.sleep(2.5 if event["n"] == 1 else 0.0)
        log.append(event["n"])

    a = Inbound(aredis, "zalobot", slow_first, consumer="a", claim_idle_s=1.0)
    b = Inbound(aredis, "zalobot", slow_first, consumer="b", claim_idle_s=1.0)
    for n in (1, 2):
        await a.put("zalobot:c1", {"n": n})
    task_a = asyncio.create_task(a.run(stop))
    await eventually(lambda: len(a._in_hand) == 2, timeout=5, what="A holds both")
    task_b = asyncio.create_task(b.run(stop))

    await eventually(lambda: log == [1, 2], timeout=10, what="both handled")
    await asyncio.sleep(1.5)
    assert log == [1, 2]  # neither handled a second time by B
    stop.set()
    await asyncio.gather(task_a, task_b)


async def test_keeping_once_refuses_a_repeat_in_the_same_step(aredis: Any) -> None:
    inbound = Inbound(aredis, "zalo", recorder([]), consumer="a")
    first = await inbound.put("zalo:u1", {"n": 1}, once="msg-1")
    again = await inbound.put("zalo:u1", {"n": 1}, once="msg-1")

    assert first and again is None
    assert await aredis.xlen(stream_of("zalo")) == 1
    assert await aredis.lrange(order_of("zalo", "zalo:u1"), 0, -1) == [first]
    assert await aredis.get("gw:seen:zalo:msg-1") == "1"


async def test_an_event_that_always_fails_is_set_aside_and_the_next_goes_through(aredis: Any,
                                                                                 stop: asyncio.Event) -> None:
    log: list[Any] = []

    async def broken_first(conv: str, event: dict[str, Any]) -> None:
        if event["n"] == 1:
            raise RuntimeError("this event can never be handled")
        log.append(event["n"])

    inbound = Inbound(aredis, "zalobot", broken_first, consumer="a", claim_idle_s=0.1)
    await inbound.put("zalobot:c1", {"n": 1, "message": {"text": "CCCD 001203004567"}})
    await inbound.put("zalobot:c1", {"n": 2})
    task = asyncio.create_task(inbound.run(stop))

    await eventually(lambda: log == [2], timeout=20, what="the next event once the broken one is set aside")
    [(_, dead)] = await aredis.xrange("gw:dead")
    assert dead["stream"] == stream_of("zalobot") and dead["conv"] == "zalobot:c1"
    assert "001203004567" not in dead["text"]
    stop.set()
    await task
