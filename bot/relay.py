"""The resident side every channel gateway shares: Rasa or a volunteer, retries, and the outbox from the team.

A gateway parses its channel's updates into (conversation id, text), calls `Relay.incoming`, and gives the Relay a
`deliver(conv, replies)` coroutine that renders replies for its channel. Everything else is here, once.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from bot.handoff import Bus, PermanentFailure, Tickets, outbox, wait_or_stop
from bot.inbound import consumer_name
from bot.rasa_client import RasaClient, RasaFailed, RasaRejected, RasaUnavailable
from bot.render import BUSY_TEXT, Button, Reply
from bot.state import GatewayState
from common.messages import say
from common.metrics import GatewayMetrics, is_redis_error
from common.records import pseudonym
from common.text import clean, mask_pii

logger = logging.getLogger(__name__)

Deliver = Callable[[str, list[Reply]], Awaitable[None]]
CLOSED_EVENT = "handoff_closed"
RETRY_EVERY_S = 5.0
# A held message Rasa fails on (HTTP 500, not an outage) is tried this many times, then set aside with an apology.
MAX_FAILED_TRIES = 3
GAVE_UP_TEXT = say("gateway.gave_up")


def claimed_text(name: str) -> str:
    return say("gateway.claimed", name=name)


def volunteer_text(name: str, text: str) -> str:
    return say("gateway.volunteer", name=name, text=text)


# Set while a kept event is handled whose text held an OTP or passcode (the kept copy is masked, see bot/inbound.py)
SHARED_SECRET: contextvars.ContextVar[bool] = contextvars.ContextVar("shared_secret", default=False)


def busy_reply(reply_to: str = "") -> Reply:
    return Reply(text=BUSY_TEXT, custom={"kind": "error", "held": True}, reply_to=reply_to)


def held_item(text: str, message_id: str, secret: bool) -> dict[str, Any]:
    """What the retry queue keeps of a message (GatewayState.hold masks the text)."""
    return {"text": text, "id": message_id, "at": time.time(), **({"shared_secret": True} if secret else {})}


def new_message_id() -> str:
    """An id for a message whose channel gives none (the web widget without one, a Telegram /start)."""
    return uuid.uuid4().hex


class Relay:
    """Route one channel's residents to Rasa, or to the team while a ticket is open."""

    def __init__(self, channel: str, rasa: RasaClient, state: GatewayState, tickets: Tickets, bus: Bus,
                 deliver: Deliver, replica: str = "", metrics: GatewayMetrics | None = None) -> None:
        # one name per channel: the conversation ids' prefix, the outbox stream's suffix and Rasa's input channel
        self.channel = channel
        self.consumer = consumer_name(replica, "gw")
        self.rasa = rasa
        self.state = state
        self.tickets = tickets
        self.bus = bus
        self.deliver = deliver
        self.metrics = metrics or GatewayMetrics()  # the gateway's /metrics serves this one

    async def incoming(self, conv: str, text: str, message_id: str = "", shared_secret: bool | None = None) -> None:
        """A resident wrote: forward to the volunteer if a ticket is open, else ask Rasa and deliver its replies.

        `message_id` is the channel's id for the message: a redelivered message keeps it, so Rasa answers it from
        the conversation instead of running it twice. Messages of one conversation are handled one at a time, in
        order, across every replica of every gateway.
        """
        with self.metrics.turn(self.channel):
            try:
                await self._incoming(conv, text, message_id, shared_secret)
            except Exception as exc:
                if is_redis_error(exc):
                    self.metrics.redis_error("relay")
                raise

    async def _incoming(self, conv: str, text: str, message_id: str, shared_secret: bool | None) -> None:
        text = clean(text)
        message_id = clean(message_id) or new_message_id()
        secret = SHARED_SECRET.get() if shared_secret is None else shared_secret
        metadata = {"shared_secret": True} if secret else None
        await self.state.touch_inbound(conv)
        async with self.state.conversation(conv):
            ticket = await self.tickets.active_for(conv)
            if ticket:
                # the bot stays silent while a person is helping: the words go to the ticket's thread only
                await self.state.remember(conv, "resident", text)
                await self.bus.to_team("resident_message", ticket.id, mask_pii(text))
                return
            if await self.state.held(conv):
                # earlier messages are still waiting for Rasa: keep the order
                self.metrics.held.labels(channel=self.channel).inc()
                await self.state.hold(conv, held_item(text, message_id, secret))
                replies = await self.flush(conv) or []
                if any(item.get("id") == message_id for item in await self.state.held(conv)):
                    replies.append(busy_reply(message_id))
                await self.send_replies(conv, replies)
                return
            try:
                replies = await self.ask(conv, text, metadata, message_id=message_id)
            except RasaRejected as exc:
                # this message, not Rasa, is the problem: retrying cannot help and would block the resident's next
                logger.error("Rasa refused a message from %s (%s); set aside", self.channel, exc)
                self.metrics.rasa_errors.labels(channel=self.channel, error="rejected").inc()
                await self.bus.set_aside(f"gw:in:{self.channel}", conv, str(exc), mask_pii(text))
                replies = [Reply(text=GAVE_UP_TEXT, custom={"kind": "error"}, reply_to=message_id)]
            except RasaUnavailable as exc:
                logger.warning("Rasa unavailable (%s); holding a message from %s for retry", exc, self.channel)
                self.metrics.rasa_errors.labels(channel=self.channel, error="unavailable").inc()
                self.metrics.held.labels(channel=self.channel).inc()
                await self.state.hold(conv, held_item(text, message_id, secret))
                replies = [busy_reply(message_id)]
            await self.send_replies(conv, replies)

    async def ask(self, conv: str, text: str, metadata: dict[str, Any] | None = None, message_id: str = "",
                  system_event: str = "") -> list[Reply]:
        """Rasa's replies; opens a ticket when Rasa hands the conversation to a person."""
        replies = await self.rasa.send(conv, text, self.channel, metadata, message_id=message_id,
                                       system_event=system_event)
        if not system_event:
            await self.state.remember(conv, "resident", text)
        for reply in replies:
            await self.state.remember(conv, "bot", reply.text)
        for reply in replies:
            if reply.kind == "handoff":
                ticket = await self.tickets.open(conv, topic=str(reply.custom.get("topic") or ""),
                                                 reason=str(reply.custom.get("reason") or ""),
                                                 walkthrough=reply.custom.get("walkthrough") or {})
                await self.bus.to_team("opened", ticket.id)
        return replies

    async def flush(self, conv: str) -> list[Reply] | None:
        """Send held messages to Rasa in order (the caller holds the conversation); their replies, or None if Rasa is
        still away. A message Rasa keeps failing on is set aside after MAX_FAILED_TRIES with an apology."""
        out: list[Reply] = []
        for item in await self.state.held(conv):
            message_id = str(item.get("id") or "")
            metadata = {"shared_secret": True} if item.get("shared_secret") else None
            try:
                out.extend(await self.ask(conv, item["text"], metadata, message_id=message_id))
            except RasaFailed:
                self.metrics.rasa_errors.labels(channel=self.channel, error="failed").inc()
                tries = int(item.get("tries") or 0) + 1
                if tries < MAX_FAILED_TRIES:
                    await self.state.update_first_held(conv, {**item, "tries": tries})
                    return out or None
                logger.error("Rasa failed %d times on a held message from %s; set aside", tries, self.channel)
                await self.bus.set_aside(f"gw:held:{self.channel}", conv, "rasa failed", str(item["text"]))
                out.append(Reply(text=GAVE_UP_TEXT, custom={"kind": "error"}, reply_to=message_id))
            except RasaRejected as exc:
                self.metrics.rasa_errors.labels(channel=self.channel, error="rejected").inc()
                logger.error("Rasa refused a held message from %s (%s); set aside", self.channel, exc)
                await self.bus.set_aside(f"gw:held:{self.channel}", conv, str(exc), str(item["text"]))
                out.append(Reply(text=GAVE_UP_TEXT, custom={"kind": "error"}, reply_to=message_id))
            except RasaUnavailable:
                return out or None
            await self.state.drop_first_held(conv)
        return out

    async def from_team(self, fields: dict[str, str]) -> None:
        """One message from the team's side (stream `gw:out:<channel>`), delivered to the resident."""
        conv, kind, text = fields.get("conv", ""), fields.get("type", ""), fields.get("text", "")
        if not conv:
            raise PermanentFailure("outbox message without a conversation")
        async with self.state.conversation(conv):
            await self._from_team(conv, kind, text, fields)

    async def _from_team(self, conv: str, kind: str, text: str, fields: dict[str, str]) -> None:
        if kind == "text":
            replies = [Reply(text=text, custom={"kind": "volunteer"})]
        elif kind == "claimed":
            replies = [Reply(text=claimed_text(text), custom={"kind": "volunteer"})]
        elif kind == "closed":
            # Rasa resumes and asks for a rating; raising RasaUnavailable keeps this pending for a retry, and the
            # ticket's own message id makes that retry answer from the conversation instead of asking twice
            ticket = fields.get("ticket", "")
            try:
                replies = await self.ask(conv, "", metadata={"ticket": ticket}, message_id=f"handoff-closed:{ticket}",
                                         system_event=CLOSED_EVENT)
            except RasaRejected as exc:  # retrying a refused event cannot help: set it aside
                raise PermanentFailure(str(exc)) from exc
        elif kind == "replies":
            replies = [Reply(text=r["text"], buttons=tuple(Button(**b) for b in r["buttons"]), custom=r["custom"],
                             reply_to=str(r.get("reply_to") or ""))
                       for r in json.loads(text)]
        else:
            raise PermanentFailure(f"unknown outbox message type {kind!r}")
        if kind != "closed":  # ask() already kept Rasa's replies in the transcript
            for reply in replies:
                await self.state.remember(conv, "volunteer" if kind == "text" else "bot", reply.text)
        try:
            await self.deliver(conv, replies)
        except PermanentFailure as exc:
            # the resident cannot be reached (e.g. Zalo's reply window is used up): the volunteer must know, not
            # believe the words went out
            if kind == "text" and fields.get("ticket"):
                await self.bus.to_team("not_delivered", fields["ticket"], getattr(exc, "reason", "unreachable"))
            raise

    async def send_replies(self, conv: str, replies: list[Reply]) -> None:
        """Deliver now; if the channel fails, queue the replies in the outbox so they are retried, not lost."""
        if not replies:
            return
        try:
            await self.deliver(conv, replies)
            self.metrics.replies_out.labels(channel=self.channel).inc(len(replies))
        except PermanentFailure as exc:
            logger.error("Cannot reach a resident on %s (%s); replies set aside in gw:dead", self.channel, exc)
            await self.bus.set_aside(outbox(self.channel), conv, str(exc),
                                     json.dumps([r.text for r in replies], ensure_ascii=False))
        except Exception:  # noqa: BLE001 - retried from the outbox
            logger.warning("Delivery on %s failed; queued for retry", self.channel, exc_info=True)
            body = json.dumps([{"text": r.text, "buttons": [asdict(b) for b in r.buttons], "custom": r.custom,
                                "reply_to": r.reply_to} for r in replies], ensure_ascii=False)
            await self.bus.retry_replies(self.channel, conv, body)

    async def run(self, stop: asyncio.Event) -> None:
        """Background work until `stop`: deliver the team's messages, retry held messages when Rasa is back."""
        await asyncio.gather(
            self.bus.consume_outbox(self.channel, self.consumer, self.from_team, stop),
            self._retry_loop(stop),
        )

    async def _retry_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                for conv in await self.state.held_conversations(f"{self.channel}:"):
                    async with self.state.conversation(conv):
                        replies = await self.flush(conv)
                        if replies:
                            await self.send_replies(conv, replies)
            except Exception as exc:  # noqa: BLE001 - Redis away: try again next round
                logger.warning("Retry round failed", exc_info=True)
                if is_redis_error(exc):
                    self.metrics.redis_error("relay")
            await wait_or_stop(stop, RETRY_EVERY_S)


def build_relay(channel: str, redis: Any, rasa_url: str, deliver: Deliver, timeout_s: float = 30.0,
                commune: str = "vi-du", pseudonym_key: bytes = b"", replica: str = "",
                metrics: GatewayMetrics | None = None) -> Relay:
    """A Relay wired to Redis and Rasa, with the commune and pseudonym key the feedback log uses."""
    tickets = Tickets(redis, commune, lambda conv: pseudonym(conv, pseudonym_key))
    return Relay(channel, RasaClient(rasa_url, timeout_s), GatewayState(redis), tickets, Bus(redis), deliver, replica,
                 metrics)
