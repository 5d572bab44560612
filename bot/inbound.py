"""Durable intake for webhook channels: an event is in Redis before the channel gets its HTTP 200.

Zalo (OA and Bot) and Telegram expect a fast 200 and do not send an event again once they have it. A gateway that
answered 200 and was then killed used to lose the message. Here the webhook appends the event to the stream
`gw:in:<channel>` and only then answers; workers read the stream in a consumer group and acknowledge an event once
it is handled. Events left unacknowledged by a dead replica are claimed by a live one after `claim_idle_s`
(XAUTOCLAIM), and handled again: their channel message id lets Rasa answer them from the conversation instead of
running them twice.

Events of one conversation are handled one after another, in stream order; different conversations in parallel.
What waits here is personal data at rest: every "text" field is masked before the event is written (with
`_shared_secret` set when it held an OTP or passcode, so the resident is still warned), and an event is deleted once
handled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from bot.handoff import ensure_group, wait_or_stop
from bot.state import decode
from common.text import clean, mask_pii, shares_secret

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]
MAXLEN = 100_000  # acknowledged events are trimmed beyond this many


def stream_of(channel: str) -> str:
    return f"gw:in:{channel}"


def consumer_name(replica: str, prefix: str = "gw") -> str:
    """This process's name in a stream's consumer group: the replica (HOSTNAME, a pod's name) and the process id."""
    return f"{replica or prefix}-{os.getpid()}"


class Inbound:
    """Append events and handle them with a consumer group; `run` until stopped."""

    def __init__(self, redis: Any, channel: str, handle: Handler, consumer: str = "", group: str = "gateway",
                 claim_idle_s: float = 30.0, retry_s: float = 2.0) -> None:
        self.redis = redis
        self.stream = stream_of(channel)
        self.handle = handle
        self.consumer = consumer or consumer_name("", channel)
        self.group = group
        self.claim_idle_ms = int(claim_idle_s * 1000)
        self.retry_s = retry_s
        self._queues: dict[str, asyncio.Queue[tuple[str, dict[str, Any]]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._in_hand: set[str] = set()

    async def put(self, conv: str, event: dict[str, Any]) -> str:
        """Keep one event durably, masked (raises if Redis cannot take it: the webhook must then not answer 200)."""
        masked, secret = mask_texts(event)
        if secret:
            masked["_shared_secret"] = True
        # ASCII escapes: any other field may still hold a lone surrogate, which UTF-8 cannot carry to Redis
        entry = await self.redis.xadd(self.stream, {"conv": conv, "event": json.dumps(masked)},
                                      maxlen=MAXLEN, approximate=True)
        return str(decode(entry))

    async def run(self, stop: asyncio.Event) -> None:
        """Read new events, and claim those a dead replica left, until `stop`; then finish what is in hand."""
        await ensure_group(self.redis, self.stream, self.group, stop, self.retry_s)
        backlog = True  # first our own pending entries (this consumer name before a restart), then new ones
        next_claim = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                if loop.time() >= next_claim:
                    next_claim = loop.time() + max(1.0, self.claim_idle_ms / 3000)
                    await self._claim_abandoned()
                answer = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: "0" if backlog else ">"},
                                                     count=100, block=None if backlog else 1000)
            except Exception:  # noqa: BLE001 - Redis restarting: wait, make sure the group exists, read again
                logger.warning("Cannot read %s; retrying", self.stream, exc_info=True)
                await wait_or_stop(stop, self.retry_s)
                await ensure_group(self.redis, self.stream, self.group, stop, self.retry_s, once=True)
                continue
            entries = answer[0][1] if answer else []
            if backlog and not entries:
                backlog = False
            self._dispatch(entries)
        await self.drain()

    async def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every event in the stream has been handled and acknowledged; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not self._in_hand and await self._all_acknowledged():
                return True
            await asyncio.sleep(0.02)
        return False

    async def _all_acknowledged(self) -> bool:
        try:
            groups = await self.redis.xinfo_groups(self.stream)
        except Exception:  # noqa: BLE001 - no stream yet: nothing was ever kept
            return True
        for group in groups:
            if decode(group.get("name")) == self.group:
                last = decode(group.get("last-delivered-id"))
                info = await self.redis.xinfo_stream(self.stream)
                return int(group.get("pending") or 0) == 0 and last == decode(info.get("last-generated-id"))
        return await self.redis.xlen(self.stream) == 0

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the events being handled (on shutdown)."""
        workers = [w for w in self._workers.values() if not w.done()]
        if workers:
            await asyncio.wait(workers, timeout=timeout)

    def _dispatch(self, entries: list[Any]) -> None:
        for entry_id, data in entries:
            entry_id = decode(entry_id)
            if entry_id in self._in_hand:
                continue
            fields = {decode(k): decode(v) for k, v in data.items()}
            conv = fields.get("conv", "")
            self._in_hand.add(entry_id)
            queue = self._queues.setdefault(conv, asyncio.Queue())
            queue.put_nowait((entry_id, fields))
            if conv not in self._workers or self._workers[conv].done():
                self._workers[conv] = asyncio.create_task(self._work(conv, queue))

    async def _work(self, conv: str, queue: asyncio.Queue[tuple[str, dict[str, Any]]]) -> None:
        """Handle one conversation's events in order; acknowledge each once handled."""
        while not queue.empty():
            entry_id, fields = queue.get_nowait()
            try:
                event = json.loads(fields.get("event") or "{}")
                await self.handle(conv, event)
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.xack(self.stream, self.group, entry_id).xdel(self.stream, entry_id)
                    await pipe.execute()
            except Exception:  # noqa: BLE001 - stays pending; claimed and handled again after claim_idle_s
                logger.warning("Handling an event from %s failed; it will be retried", self.stream, exc_info=True)
            finally:
                self._in_hand.discard(entry_id)
        if self._queues.get(conv) is queue and queue.empty():
            self._queues.pop(conv, None)

    async def _claim_abandoned(self) -> None:
        """Take over events another consumer (a killed replica) read but never acknowledged."""
        start = "0-0"
        while True:
            answer = await self.redis.xautoclaim(self.stream, self.group, self.consumer, self.claim_idle_ms,
                                                 start_id=start, count=100)
            start, entries = decode(answer[0]), answer[1]
            entries = [(i, d) for i, d in entries if d]  # deleted entries come back empty
            if entries:
                logger.info("Claimed %d unhandled event(s) on %s", len(entries), self.stream)
                self._dispatch(entries)
            if start in ("0-0", "0"):
                return


def mask_texts(value: Any) -> tuple[Any, bool]:
    """A copy with every string under a "text" key masked, and whether one of them shared an OTP or passcode."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        secret = False
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                item = clean(item)
                secret = secret or shares_secret(item)
                out[key] = mask_pii(item)
            else:
                out[key], found = mask_texts(item)
                secret = secret or found
        return out, secret
    if isinstance(value, list):
        pairs = [mask_texts(item) for item in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    return value, False

