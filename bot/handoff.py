"""Handoff tickets and the streams that carry messages between gateways.

A ticket is opened when Rasa answers with `custom.kind == "handoff"`. While it is open the conversation is paused:
the resident's gateway forwards what they write to the team (stream `gw:team`) instead of to Rasa. The Telegram
gateway posts tickets and relays the claiming volunteer's words back through `gw:out:<channel>`, which the resident's
gateway delivers. On close the resident's gateway tells Rasa (`/handoff_closed`), so the assistant resumes and asks
for a rating. Streams are read with consumer groups, so nothing is lost when a gateway restarts; every step is also
appended to `handoff:v1`, the log the staff dashboard reads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.state import decode
from common.records import HANDOFF_STREAM

logger = logging.getLogger(__name__)

TEAM_STREAM = "gw:team"
DEAD_STREAM = "gw:dead"  # what could never be handled, kept for a person
LOG_STREAM = HANDOFF_STREAM
OPEN_SET = "gw:tickets:open"
STATUSES = ("open", "claimed", "closed")


def outbox(channel: str) -> str:
    """The stream of messages waiting to be delivered to residents on one channel."""
    return f"gw:out:{channel}"


def channel_of(conv: str) -> str:
    """`zalo:123` → `zalo`: the channel is the sender id's namespace."""
    return conv.split(":", 1)[0]


class TicketError(RuntimeError):
    """A ticket action that cannot happen (closed already, claimed by someone else); the message is for volunteers."""


@dataclass
class Ticket:
    """One handed-off conversation."""

    id: str
    conv: str
    topic: str = ""
    reason: str = ""
    walkthrough: dict[str, Any] = field(default_factory=dict)
    status: str = "open"
    opened_at: float = 0.0
    claimed_by: str = ""
    claimed_name: str = ""
    claimed_at: float = 0.0
    first_reply_at: float = 0.0
    closed_at: float = 0.0
    reminded: bool = False
    team_chat: str = ""
    team_thread: str = ""
    team_message: str = ""

    @property
    def channel(self) -> str:
        return channel_of(self.conv)

    def to_hash(self) -> dict[str, str]:
        data = asdict(self)
        data["walkthrough"] = json.dumps(self.walkthrough, ensure_ascii=False)
        data["reminded"] = "1" if self.reminded else "0"
        return {k: str(v) for k, v in data.items()}

    @classmethod
    def from_hash(cls, data: dict[Any, Any]) -> Ticket:
        d = {decode(k): decode(v) for k, v in data.items()}
        floats = ("opened_at", "claimed_at", "first_reply_at", "closed_at")
        return cls(
            id=d["id"], conv=d["conv"], topic=d.get("topic", ""), reason=d.get("reason", ""),
            walkthrough=json.loads(d.get("walkthrough") or "{}"), status=d.get("status", "open"),
            claimed_by=d.get("claimed_by", ""), claimed_name=d.get("claimed_name", ""),
            reminded=d.get("reminded") == "1", team_chat=d.get("team_chat", ""),
            team_thread=d.get("team_thread", ""), team_message=d.get("team_message", ""),
            **{k: float(d.get(k) or 0) for k in floats},
        )


class Tickets:
    """Tickets in Redis: `gw:ticket:<id>` hashes, `gw:handoff:<conv>` → the open ticket, `gw:tickets:open`."""

    def __init__(self, redis: Any, commune: str = "", pseudonym: Callable[[str], str] | None = None) -> None:
        self.redis = redis
        self.commune = commune
        self.pseudonym = pseudonym or (lambda conv: "")

    async def open(self, conv: str, topic: str = "", reason: str = "", walkthrough: dict | None = None) -> Ticket:
        """Open a ticket for a conversation, or return the one already open (a second request adds nothing)."""
        existing = await self.active_for(conv)
        if existing:
            return existing
        number = await self.redis.incr("gw:ticket:seq")
        ticket = Ticket(id=str(number), conv=conv, topic=topic or "", reason=reason or "",
                        walkthrough=walkthrough or {}, opened_at=time.time())
        # NX: two messages racing to open a ticket for one conversation keep the first
        if not await self.redis.set(f"gw:handoff:{conv}", ticket.id, nx=True):
            again = await self.active_for(conv)
            if again:
                return again
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"gw:ticket:{ticket.id}", mapping=ticket.to_hash())
            pipe.set(f"gw:handoff:{conv}", ticket.id)
            pipe.zadd(OPEN_SET, {ticket.id: ticket.opened_at})
            await pipe.execute()
        await self.log("opened", ticket)
        return ticket

    async def get(self, ticket_id: str) -> Ticket | None:
        data = await self.redis.hgetall(f"gw:ticket:{ticket_id}")
        return Ticket.from_hash(data) if data else None

    async def active_for(self, conv: str) -> Ticket | None:
        """The open (or claimed) ticket that pauses this conversation, if any."""
        ticket_id = decode(await self.redis.get(f"gw:handoff:{conv}"))
        if not ticket_id:
            return None
        ticket = await self.get(ticket_id)
        return ticket if ticket and ticket.status != "closed" else None

    async def update(self, ticket: Ticket, **changes: Any) -> Ticket:
        for key, value in changes.items():
            setattr(ticket, key, value)
        await self.redis.hset(f"gw:ticket:{ticket.id}", mapping={k: v for k, v in ticket.to_hash().items()
                                                                 if k in changes})
        return ticket

    async def claim(self, ticket_id: str, volunteer: str, name: str) -> Ticket:
        """A volunteer takes the ticket. Claiming one's own ticket again is harmless."""
        ticket = await self.get(ticket_id)
        if ticket is None or ticket.status == "closed":
            raise TicketError("Phiếu này đã đóng.")
        if ticket.status == "claimed" and ticket.claimed_by != volunteer:
            raise TicketError(f"Phiếu này đã có {ticket.claimed_name} nhận.")
        if ticket.status == "claimed":
            return ticket
        ticket = await self.update(ticket, status="claimed", claimed_by=volunteer, claimed_name=name,
                                   claimed_at=time.time())
        await self.log("claimed", ticket)
        return ticket

    async def note_reply(self, ticket: Ticket) -> None:
        """Record the volunteer's first reply (the dashboard's time-to-first-reply)."""
        if not ticket.first_reply_at:
            await self.update(ticket, first_reply_at=time.time())
            await self.log("first_reply", ticket)

    async def close(self, ticket_id: str) -> Ticket:
        ticket = await self.get(ticket_id)
        if ticket is None or ticket.status == "closed":
            raise TicketError("Phiếu này đã đóng.")
        ticket = await self.update(ticket, status="closed", closed_at=time.time())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(OPEN_SET, ticket.id)
            pipe.delete(f"gw:handoff:{ticket.conv}")
            await pipe.execute()
        await self.log("closed", ticket)
        return ticket

    async def open_tickets(self) -> list[Ticket]:
        ids = [decode(x) for x in await self.redis.zrange(OPEN_SET, 0, -1)]
        tickets = [await self.get(i) for i in ids]
        return [t for t in tickets if t is not None]

    async def link_thread(self, ticket: Ticket, chat: str, thread: str, message: str) -> None:
        """Remember where the ticket lives in the team group, so replies there find it."""
        await self.update(ticket, team_chat=chat, team_thread=thread, team_message=message)
        if thread:
            await self.redis.set(f"gw:thread:{chat}:{thread}", ticket.id)
        await self.link_message(ticket, chat, message)

    async def link_message(self, ticket: Ticket, chat: str, message: str) -> None:
        await self.redis.set(f"gw:tmsg:{chat}:{message}", ticket.id, ex=90 * 86400)

    async def by_thread(self, chat: str, thread: str) -> Ticket | None:
        ticket_id = decode(await self.redis.get(f"gw:thread:{chat}:{thread}"))
        return await self.get(ticket_id) if ticket_id else None

    async def by_message(self, chat: str, message: str) -> Ticket | None:
        ticket_id = decode(await self.redis.get(f"gw:tmsg:{chat}:{message}"))
        return await self.get(ticket_id) if ticket_id else None

    async def log(self, event: str, ticket: Ticket) -> None:
        """Append to `handoff:v1` (pseudonymous; never the raw user id)."""
        await self.redis.xadd(LOG_STREAM, {
            "event": event, "ticket": ticket.id, "channel": ticket.channel,
            "commune": self.commune,
            "topic": ticket.topic, "resident": self.pseudonym(ticket.conv), "at": f"{time.time():.3f}",
        }, maxlen=1_000_000, approximate=True)


class Bus:
    """Messages between gateways over Redis Streams."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def to_team(self, kind: str, ticket_id: str, text: str = "") -> None:
        await self.redis.xadd(TEAM_STREAM, {"type": kind, "ticket": ticket_id, "text": text})

    async def to_resident(self, conv: str, kind: str, text: str = "", ticket_id: str = "") -> None:
        """kind: `text` (a volunteer's words), `claimed` or `closed` (the channel gateway tells Rasa)."""
        await self.redis.xadd(outbox(channel_of(conv)), {"type": kind, "conv": conv, "text": text,
                                                          "ticket": ticket_id})

    async def retry_replies(self, channel: str, conv: str, body: str) -> None:
        """Queue replies the channel could not take now in its outbox (`type=replies`): delivered on a later pass."""
        await self.redis.xadd(outbox(channel), {"type": "replies", "conv": conv, "text": body})

    async def set_aside(self, stream: str, conv: str, error: str, text: str) -> None:
        """Keep what can never be delivered or answered in `gw:dead`, for a person to look at."""
        await self.redis.xadd(DEAD_STREAM, {"stream": stream, "conv": conv, "error": error[:300], "text": text[:500]})

    async def consume_outbox(self, channel: str, consumer: str, handle: Callable[[dict[str, str]], Awaitable[None]],
                             stop: asyncio.Event) -> None:
        """Deliver the channel's outbox (volunteers' words, replies queued for retry) until `stop`."""
        await consume(self.redis, outbox(channel), "gateway", consumer, handle, stop)


class PermanentFailure(RuntimeError):
    """A stream message that can never be handled (its resident is unreachable): acknowledged and set aside."""


# How long an idle stream read waits on Redis for something new; a stopping gateway is done within about this long.
READ_BLOCK_MS = 1000


async def consume(redis: Any, stream: str, group: str, consumer: str,
                  handle: Callable[[dict[str, str]], Awaitable[None]], stop: asyncio.Event,
                  block_ms: int | None = None, retry_s: float = 2.0, claim_idle_s: float = 60.0) -> None:
    """Read a stream with a consumer group until `stop`: a message is acknowledged only once handled.

    On a failure it stays pending and is retried (our own pending entries are read first on every pass), so a crash
    or a channel outage delays messages but loses none. Messages a killed replica read but never acknowledged (its
    consumer name died with its pid) are claimed after `claim_idle_s`. A PermanentFailure goes to `gw:dead` and is
    acknowledged.
    """
    await ensure_group(redis, stream, group, stop, retry_s)
    backlog = True
    loop = asyncio.get_running_loop()
    next_claim = loop.time() + claim_idle_s / 3
    while not stop.is_set():
        try:
            if not backlog and loop.time() >= next_claim:
                next_claim = loop.time() + claim_idle_s / 3
                claimed = await redis.xautoclaim(stream, group, consumer, int(claim_idle_s * 1000), start_id="0-0",
                                                 count=100)
                if claimed[1]:
                    logger.info("Claimed %d message(s) a stopped replica left on %s", len(claimed[1]), stream)
                    backlog = True
                    continue
            answer = await redis.xreadgroup(group, consumer, {stream: "0" if backlog else ">"}, count=20,
                                            block=None if backlog else block_ms or READ_BLOCK_MS)
        except Exception:  # noqa: BLE001 - Redis restarting: wait and read again
            logger.warning("Cannot read %s; retrying", stream, exc_info=True)
            await wait_or_stop(stop, retry_s)
            await ensure_group(redis, stream, group, stop, retry_s, once=True)
            continue
        entries = answer[0][1] if answer else []
        if backlog and not entries:
            backlog = False
            continue
        # one resident's failing message must not hold up everyone else's; later messages of the same
        # conversation wait behind it, so each resident still gets them in order
        failed: set[str] = set()
        for entry_id, data in entries:
            fields = {decode(k): decode(v) for k, v in data.items()}
            key = fields.get("conv") or fields.get("ticket") or ""
            if key in failed:
                continue
            try:
                await handle(fields)
            except PermanentFailure as exc:
                logger.error("Giving up on a message in %s: %s", stream, exc)
                await redis.xadd(DEAD_STREAM, {"stream": stream, **fields, "error": str(exc)[:300]})
            except Exception:  # noqa: BLE001 - kept pending and retried
                logger.warning("Handling a message from %s failed; will retry", stream, exc_info=True)
                failed.add(key)
                continue
            await redis.xack(stream, group, entry_id)
        if failed:
            backlog = True
            await wait_or_stop(stop, retry_s)


async def ensure_group(redis: Any, stream: str, group: str, stop: asyncio.Event, retry_s: float,
                       once: bool = False) -> None:
    """Create a stream's consumer group (and the stream) unless it exists; while Redis is away, wait and try again
    (or give up at once with `once`: the caller's next read retries)."""
    while not stop.is_set():
        try:
            await redis.xgroup_create(stream, group, id="0", mkstream=True)
            return
        except Exception as exc:  # noqa: BLE001 - BUSYGROUP: the group exists already; else Redis is away: wait
            if "BUSYGROUP" in str(exc) or once:
                return
            logger.warning("Cannot create consumer group on %s (%s); retrying", stream, exc.__class__.__name__)
            await wait_or_stop(stop, retry_s)


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less when `stop` is set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass
