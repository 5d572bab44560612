"""The resident side every channel gateway shares: Rasa or a volunteer, retries, and the outbox from the team.

A gateway parses its channel's updates into (conversation id, text), calls `Relay.incoming`, and gives the Relay a
`deliver(conv, replies)` coroutine that renders replies for its channel. Everything else is here, once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from actions.text import mask_pii
from bot.handoff import Bus, PermanentFailure, Tickets, _sleep, consume, outbox
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.render import BUSY_TEXT, Button, Reply
from bot.state import GatewayState

logger = logging.getLogger(__name__)

Deliver = Callable[[str, list[Reply]], Awaitable[None]]
CLOSED_PAYLOAD = "/handoff_closed"
RETRY_EVERY_S = 5.0


def claimed_text(name: str) -> str:
    return f"Tình nguyện viên {name} đã nhận hỗ trợ bạn. Bạn cứ nhắn tại đây, người hỗ trợ sẽ trả lời."


def volunteer_text(name: str, text: str) -> str:
    return f"{name} (tình nguyện viên): {text}"


def busy_reply() -> Reply:
    return Reply(text=BUSY_TEXT, custom={"kind": "error"})


class Relay:
    """Route one channel's residents to Rasa, or to the team while a ticket is open."""

    def __init__(self, channel: str, rasa: RasaClient, state: GatewayState, tickets: Tickets, bus: Bus,
                 deliver: Deliver, input_channel: str = "") -> None:
        # `channel` is the conversation ids' prefix and names the outbox stream; `input_channel` is what Rasa records
        self.channel = channel
        self.input_channel = input_channel or channel
        self.rasa = rasa
        self.state = state
        self.tickets = tickets
        self.bus = bus
        self.deliver = deliver

    async def incoming(self, conv: str, text: str) -> None:
        """A resident wrote: forward to the volunteer if a ticket is open, else ask Rasa and deliver its replies."""
        await self.state.touch_inbound(conv)
        ticket = await self.tickets.active_for(conv)
        if ticket:
            # the bot stays silent while a person is helping: the words go to the ticket's thread only
            await self.state.remember(conv, "resident", text)
            await self.bus.to_team("resident_message", ticket.id, mask_pii(text))
            return
        if await self.state.held(conv):
            # earlier messages are still waiting for Rasa: keep the order
            await self.state.hold(conv, {"text": text, "at": time.time()})
            replies = await self.flush(conv)
            await self._send(conv, replies if replies is not None else [busy_reply()])
            return
        try:
            replies = await self.ask(conv, text)
        except RasaUnavailable as exc:
            logger.warning("Rasa unavailable (%s); holding a message from %s for retry", exc, self.channel)
            await self.state.hold(conv, {"text": text, "at": time.time()})
            replies = [busy_reply()]
        await self._send(conv, replies)

    async def ask(self, conv: str, text: str, metadata: dict[str, Any] | None = None) -> list[Reply]:
        """Rasa's replies; opens a ticket when Rasa hands the conversation to a person."""
        replies = await self.rasa.send(conv, text, self.input_channel, metadata)
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
        """Send held messages to Rasa in order; their replies, or None if Rasa is still away."""
        out: list[Reply] = []
        for item in await self.state.held(conv):
            try:
                out.extend(await self.ask(conv, item["text"]))
            except RasaUnavailable:
                return out or None
            await self.state.drop_first_held(conv)
        return out

    async def from_team(self, fields: dict[str, str]) -> None:
        """One message from the team's side (stream `gw:out:<channel>`), delivered to the resident."""
        conv, kind, text = fields.get("conv", ""), fields.get("type", ""), fields.get("text", "")
        if not conv:
            raise PermanentFailure("outbox message without a conversation")
        if kind == "text":
            replies = [Reply(text=text, custom={"kind": "volunteer"})]
        elif kind == "claimed":
            replies = [Reply(text=claimed_text(text), custom={"kind": "volunteer"})]
        elif kind == "closed":
            # Rasa resumes and asks for a rating; raising RasaUnavailable keeps this pending for a retry
            replies = await self.ask(conv, CLOSED_PAYLOAD, metadata={"ticket": fields.get("ticket", "")})
        elif kind == "replies":
            replies = [Reply(text=r["text"], buttons=tuple(Button(**b) for b in r["buttons"]), custom=r["custom"])
                       for r in json.loads(text)]
        else:
            raise PermanentFailure(f"unknown outbox message type {kind!r}")
        if kind != "closed":  # ask() already kept Rasa's replies in the transcript
            for reply in replies:
                await self.state.remember(conv, "volunteer" if kind == "text" else "bot", reply.text)
        await self.deliver(conv, replies)

    async def _send(self, conv: str, replies: list[Reply]) -> None:
        """Deliver now; if the channel fails, queue the replies in the outbox so they are retried, not lost."""
        if not replies:
            return
        try:
            await self.deliver(conv, replies)
        except PermanentFailure as exc:
            logger.error("Cannot reach a resident on %s (%s); replies set aside in gw:dead", self.channel, exc)
            await self.bus.redis.xadd("gw:dead", {"stream": outbox(self.channel), "conv": conv, "error": str(exc)[:300],
                                                  "text": json.dumps([r.text for r in replies], ensure_ascii=False)})
        except Exception:  # noqa: BLE001 - retried from the outbox
            logger.warning("Delivery on %s failed; queued for retry", self.channel, exc_info=True)
            body = json.dumps([{"text": r.text, "buttons": [asdict(b) for b in r.buttons], "custom": r.custom}
                               for r in replies], ensure_ascii=False)
            await self.bus.redis.xadd(outbox(self.channel), {"type": "replies", "conv": conv, "text": body})

    async def run(self, stop: asyncio.Event) -> None:
        """Background work until `stop`: deliver the team's messages, retry held messages when Rasa is back."""
        consumer = os.environ.get("HOSTNAME", "gw") + f"-{os.getpid()}"
        await asyncio.gather(
            consume(self.bus.redis, outbox(self.channel), "gateway", consumer, self.from_team, stop),
            self._retry_loop(stop),
        )

    async def _retry_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                for conv in await self.state.held_conversations(f"{self.channel}:"):
                    replies = await self.flush(conv)
                    if replies:
                        await self._send(conv, replies)
            except Exception:  # noqa: BLE001 - Redis away: try again next round
                logger.warning("Retry round failed", exc_info=True)
            await _sleep(stop, RETRY_EVERY_S)


def build_relay(channel: str, redis: Any, rasa_url: str, deliver: Deliver, timeout_s: float = 30.0,
                input_channel: str = "") -> Relay:
    """A Relay wired to Redis and Rasa, with the commune and pseudonym key the feedback log uses."""
    from actions.feedback_store import pseudonym, pseudonym_key

    commune = os.environ.get("COMMUNE_ID", "vi-du")
    tickets = Tickets(redis, commune, lambda conv: pseudonym(conv, pseudonym_key()))
    return Relay(channel, RasaClient(rasa_url, timeout_s), GatewayState(redis), tickets, Bus(redis), deliver,
                 input_channel)
