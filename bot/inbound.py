"""Durable intake for webhook channels: an event is in Redis before the channel gets its HTTP 200.

Zalo (OA and Bot) and Telegram expect a fast 200 and do not send an event again once they have it. A gateway that
answered 200 and was then killed used to lose the message. Here the webhook appends the event to the stream
`gw:in:<channel>` and only then answers; workers read the stream in a consumer group and acknowledge an event once
it is handled. Events left unacknowledged by a dead replica are claimed by a live one after `claim_idle_s`
(XAUTOCLAIM), and handled again: their channel message id lets Rasa answer them from the conversation instead of
running them twice.

Events of one conversation are handled one after another, in arrival order, across replicas; different
conversations in parallel. Each event's id is also appended to the conversation's queue `gw:in:<channel>:order:<conv>`
(atomically with the stream entry); a replica handles an event only when it heads that queue, so a message read by
replica B waits for the earlier one replica A holds, or, if A died, for whoever takes it over. While waiting, a
replica keeps its own events fresh (XCLAIM), so a live replica's events are never taken over.
What waits here is personal data at rest: every "text" field is masked before the event is written (with
`_shared_secret` set when it held an OTP or passcode, so the resident is still warned), and an event is deleted once
handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from bot import handoff
from bot.handoff import DEAD_STREAM, ensure_group, wait_or_stop
from bot.state import decode
from common.text import clean, mask_pii, shares_secret

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]
MAXLEN = 100_000  # acknowledged events are trimmed beyond this many
ORDER_TTL_S = 7 * 24 * 3600  # a conversation's queue outlives any event kept in the stream
MAX_DELIVERIES = 5  # an event that failed this often is set aside instead of blocking its conversation
WAIT_PAUSE_S = (0.01, 0.2)  # first and longest pause while an earlier event of the conversation is handled elsewhere

# Keep one event: the stream entry and its place in the conversation's queue in one step, and, given a dedupe key,
# only the first time that key is seen (a replica killed between "seen" and "kept" would otherwise lose the message:
# its redelivery would be taken for a repeat).
_PUT = """
if KEYS[3] ~= '' and not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[4]) then return false end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'conv', ARGV[2], 'event', ARGV[3])
redis.call('RPUSH', KEYS[2], id)
redis.call('EXPIRE', KEYS[2], ARGV[5])
return id
"""


def stream_of(channel: str) -> str:
    return f"gw:in:{channel}"


def order_of(channel: str, conv: str) -> str:
    """The conversation's queue of kept event ids, oldest first."""
    return f"gw:in:{channel}:order:{conv}"


def entry_key(entry_id: str) -> tuple[int, int]:
    """Stream ids sort by time, then sequence: "1700000000000-3" → (1700000000000, 3)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def consumer_name(replica: str, prefix: str = "gw") -> str:
    """This process's name in a stream's consumer group: the replica (HOSTNAME, a pod's name) and the process id."""
    return f"{replica or prefix}-{os.getpid()}"


class Inbound:
    """Append events and handle them with a consumer group; `run` until stopped."""

    def __init__(self, redis: Any, channel: str, handle: Handler, consumer: str = "", group: str = "gateway",
                 claim_idle_s: float = 30.0, retry_s: float = 2.0) -> None:
        self.redis = redis
        self.channel = channel
        self.stream = stream_of(channel)
        self.handle = handle
        self.consumer = consumer or consumer_name("", channel)
        self.group = group
        self.claim_idle_ms = int(claim_idle_s * 1000)
        self.retry_s = retry_s
        self._queues: dict[str, list[tuple[tuple[int, int], str, dict[str, Any]]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._in_hand: set[str] = set()

    async def put(self, conv: str, event: dict[str, Any], once: str = "", once_ttl_s: int = 86400) -> str | None:
        """Keep one event durably, masked, and queue it behind the conversation's earlier ones. With `once` (a
        channel's message id), only the first time: None for a repeat. Raises if Redis cannot take it: the webhook
        must then not answer 200."""
        masked, secret = mask_texts(event)
        if secret:
            masked["_shared_secret"] = True
        # ASCII escapes: any other field may still hold a lone surrogate, which UTF-8 cannot carry to Redis
        seen = f"gw:seen:{self.channel}:{once}" if once else ""
        entry = await self.redis.eval(_PUT, 3, self.stream, order_of(self.channel, conv), seen,
                                      MAXLEN, conv, json.dumps(masked), once_ttl_s, ORDER_TTL_S)
        return str(decode(entry)) if entry else None

    async def run(self, stop: asyncio.Event) -> None:
        """Read new events, and claim those a dead replica left, until `stop`; then finish what is in hand."""
        await ensure_group(self.redis, self.stream, self.group, stop, self.retry_s)
        fresh = asyncio.create_task(self._keep_fresh(stop))
        backlog = True  # first our own pending entries (this consumer name before a restart), then new ones
        next_claim = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                if loop.time() >= next_claim:
                    next_claim = loop.time() + max(1.0, self.claim_idle_ms / 3000)
                    await self._claim_abandoned()
                answer = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: "0" if backlog else ">"},
                                                     count=100, block=None if backlog else handoff.READ_BLOCK_MS)
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
        fresh.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fresh

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
            # oldest first: an event taken over from a dead replica goes before the later ones waiting here
            heapq.heappush(self._queues.setdefault(conv, []), (entry_key(entry_id), entry_id, fields))
            if conv not in self._workers or self._workers[conv].done():
                self._workers[conv] = asyncio.create_task(self._work(conv))

    async def _work(self, conv: str) -> None:
        """Handle one conversation's events in order; acknowledge each once handled."""
        queue = self._queues.get(conv, [])
        while queue:
            _, entry_id, fields = queue[0]
            try:
                turn = await self._turn(conv, entry_id, queue)
                if turn is None:
                    continue  # an earlier event of this conversation arrived here: take it first
                if turn:
                    await self.handle(conv, json.loads(fields.get("event") or "{}"))
                # handled here, or already handled by a replica that took it over: done either way
                await self._done(conv, entry_id)
            except Exception:  # noqa: BLE001 - stays pending; claimed and handled again after claim_idle_s
                logger.warning("Handling an event from %s failed; it will be retried", self.stream, exc_info=True)
                await self._set_aside_if_hopeless(conv, entry_id, fields)
            _remove(queue, entry_id)
            self._in_hand.discard(entry_id)
        if self._queues.get(conv) is queue and not queue:
            self._queues.pop(conv, None)

    async def _done(self, conv: str, entry_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, entry_id).xdel(self.stream, entry_id)
            pipe.lrem(order_of(self.channel, conv), 1, entry_id)
            await pipe.execute()

    async def _set_aside_if_hopeless(self, conv: str, entry_id: str, fields: dict[str, Any]) -> None:
        """An event that failed MAX_DELIVERIES times would block its conversation for ever: keep it in `gw:dead`
        (masked, as it was kept) for a person, and let the conversation's next events through."""
        with contextlib.suppress(Exception):
            pending = await self.redis.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
            if pending and int(pending[0]["times_delivered"]) >= MAX_DELIVERIES:
                logger.error("An event on %s failed %d times; set aside in %s", self.stream, MAX_DELIVERIES,
                             DEAD_STREAM)
                await self.redis.xadd(DEAD_STREAM, {"stream": self.stream, "conv": conv, "error": "failed repeatedly",
                                                    "text": str(fields.get("event") or "")[:500]})
                await self._done(conv, entry_id)

    async def _turn(self, conv: str, entry_id: str, queue: list[Any]) -> bool | None:
        """Wait until `entry_id` heads its conversation's queue: True to handle it, False if it was handled already
        (by a replica that took it over), None if an earlier event of the conversation arrived in `queue`."""
        order = order_of(self.channel, conv)
        pause, longest = WAIT_PAUSE_S
        while True:
            head = decode(await self.redis.lindex(order, 0))
            if head == entry_id:
                return True
            if head is None or await self.redis.lpos(order, entry_id) is None:
                # not queued: kept before queues existed, or handled and removed already
                return bool(await self.redis.xrange(self.stream, entry_id, entry_id))
            if not await self.redis.xrange(self.stream, head, head):
                # the head was handled (or trimmed) but not removed from the queue: drop it
                await self.redis.lrem(order, 1, head)
                continue
            if queue[0][1] != entry_id:
                return None
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)

    async def _keep_fresh(self, stop: asyncio.Event) -> None:
        """Until `stop`, reset the idle time of every event in hand well within the claim time, so a live
        replica's events (waiting their turn, or slow to answer) are never taken over by another one; only a dead
        replica's events grow idle."""
        every = max(0.05, self.claim_idle_ms / 4000)
        while not stop.is_set():
            await wait_or_stop(stop, every)
            ids = sorted(self._in_hand)
            try:
                for i in range(0, len(ids), 100):
                    await self.redis.xclaim(self.stream, self.group, self.consumer, 0, ids[i:i + 100], justid=True)
            except Exception:  # noqa: BLE001 - Redis restarting: try again at the next beat
                logger.warning("Cannot keep %s's events in hand", self.stream, exc_info=True)

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


def _remove(queue: list[tuple[tuple[int, int], str, dict[str, Any]]], entry_id: str) -> None:
    """Take one event out of a conversation's local heap, wherever it is."""
    for i, item in enumerate(queue):
        if item[1] == entry_id:
            queue.pop(i)
            heapq.heapify(queue)
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

