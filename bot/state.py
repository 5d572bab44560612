"""What the gateways share, in Redis: dedupe keys, short transcripts, numbered choices, the retry queue, last contact.

Every key starts with `gw:`. Transcripts hold masked text only (CCCD, phone numbers and OTPs never reach Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from common.redis import connect_async
from common.text import mask_pii, shares_secret, truncate

logger = logging.getLogger(__name__)

DEDUPE_TTL_S = 2 * 86400
TRANSCRIPT_TURNS = 12
TRANSCRIPT_TTL_S = 7 * 86400
PAYLOAD_TTL_S = 30 * 86400
# The per-conversation lock: short-lived and renewed while held, so a killed gateway frees it within seconds.
CONV_LOCK_TTL_S = 15.0
CONV_LOCK_RENEW_S = 5.0
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"


def decode(value: Any) -> Any:
    """Redis may answer bytes; gateways work with str."""
    return value.decode() if isinstance(value, bytes) else value


class GatewayState:
    """Shared state over an async Redis client (redis.asyncio.Redis)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def first_time(self, channel: str, message_id: str) -> bool:
        """True only the first time a channel's message id is seen (Zalo retries webhooks it thinks were lost)."""
        return bool(await self.redis.set(f"gw:seen:{channel}:{message_id}", "1", nx=True, ex=DEDUPE_TTL_S))

    async def forget(self, channel: str, message_id: str) -> None:
        """Undo `first_time` for a message that could not be kept, so its redelivery is handled."""
        await self.redis.delete(f"gw:seen:{channel}:{message_id}")

    async def remember(self, conv: str, who: str, text: str) -> None:
        """Add one masked line to the conversation's short transcript (what a volunteer sees on a ticket)."""
        line = json.dumps({"who": who, "text": truncate(mask_pii(text), 500), "at": time.time()}, ensure_ascii=False)
        key = f"gw:transcript:{conv}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, line).ltrim(key, -TRANSCRIPT_TURNS, -1).expire(key, TRANSCRIPT_TTL_S)
            await pipe.execute()

    async def transcript(self, conv: str) -> list[dict[str, Any]]:
        return [json.loads(decode(x)) for x in await self.redis.lrange(f"gw:transcript:{conv}", 0, -1)]

    async def touch_inbound(self, conv: str, at: float | None = None) -> None:
        """The resident wrote now (Zalo OA allows replies only within 48 h of that)."""
        await self.redis.set(f"gw:last_in:{conv}", f"{at or time.time():.3f}", ex=30 * 86400)

    async def last_inbound(self, conv: str) -> float | None:
        value = decode(await self.redis.get(f"gw:last_in:{conv}"))
        return float(value) if value else None

    async def save_choices(self, conv: str, payloads: list[str]) -> None:
        """Remember the numbered choices last shown (Zalo Bot has no buttons: "2" means the second)."""
        key = f"gw:choices:{conv}"
        if payloads:
            await self.redis.set(key, json.dumps(payloads, ensure_ascii=False), ex=TRANSCRIPT_TTL_S)
        else:
            await self.redis.delete(key)

    async def choices(self, conv: str) -> list[str]:
        value = decode(await self.redis.get(f"gw:choices:{conv}"))
        return json.loads(value) if value else []

    async def payload_key(self, payload: str) -> str:
        """A short stable key for a button payload (Telegram's callback_data holds only 64 bytes)."""
        key = hashlib.sha256(payload.encode()).hexdigest()[:16]
        await self.redis.set(f"gw:payload:{key}", payload, ex=PAYLOAD_TTL_S)
        return key

    async def payload(self, key: str) -> str | None:
        return decode(await self.redis.get(f"gw:payload:{key}"))

    async def button_key(self, conv: str, payload: str) -> str:
        """A random key for one button of one message: it works once, for the conversation it was sent to."""
        key = secrets.token_urlsafe(12)
        await self.redis.set(f"gw:button:{key}", json.dumps([conv, payload], ensure_ascii=False), ex=PAYLOAD_TTL_S)
        return key

    async def use_button(self, conv: str, key: str) -> str | None:
        """The payload of a button, the first time it is pressed in its own conversation; None after that."""
        value = decode(await self.redis.getdel(f"gw:button:{key}"))
        if not value:
            return None
        owner, payload = json.loads(value)
        return str(payload) if owner == conv else None

    # One conversation at a time, across processes: a resident's messages, their retries and the team's messages
    # are handled in order even with several gateway replicas.
    @contextlib.asynccontextmanager
    async def conversation(self, conv: str) -> AsyncIterator[None]:
        key, token = f"gw:conv-lock:{conv}", secrets.token_hex(8)
        ttl_ms = int(CONV_LOCK_TTL_S * 1000)
        pause = 0.01
        while not await self.redis.set(key, token, nx=True, px=ttl_ms):
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.2)
        renew = asyncio.create_task(self._renew(key, token, ttl_ms))
        try:
            yield
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            try:
                await self.redis.eval(_RELEASE, 1, key, token)
            except Exception:  # noqa: BLE001 - Redis away: the lock expires on its own within CONV_LOCK_TTL_S
                logger.warning("Could not release a conversation lock", exc_info=True)

    async def _renew(self, key: str, token: str, ttl_ms: int) -> None:
        while True:
            await asyncio.sleep(CONV_LOCK_RENEW_S)
            try:
                await self.redis.eval(_RENEW, 1, key, token, ttl_ms)
            except Exception:  # noqa: BLE001 - try again at the next beat
                logger.warning("Could not renew a conversation lock", exc_info=True)

    # The retry queue: messages Rasa could not answer, kept in order per conversation. Stored masked: what waits
    # here is personal data at rest like any other (Rasa masks again what it receives).
    async def hold(self, conv: str, item: dict[str, Any]) -> None:
        item = dict(item)
        text = str(item.get("text") or "")
        if shares_secret(text):
            item["shared_secret"] = True
        item["text"] = mask_pii(text)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(f"gw:held:{conv}", json.dumps(item, ensure_ascii=False)).sadd("gw:held", conv)
            await pipe.execute()

    async def update_first_held(self, conv: str, item: dict[str, Any]) -> None:
        await self.redis.lset(f"gw:held:{conv}", 0, json.dumps(item, ensure_ascii=False))

    async def held(self, conv: str) -> list[dict[str, Any]]:
        return [json.loads(decode(x)) for x in await self.redis.lrange(f"gw:held:{conv}", 0, -1)]

    async def drop_first_held(self, conv: str) -> None:
        await self.redis.lpop(f"gw:held:{conv}")
        if not await self.redis.llen(f"gw:held:{conv}"):
            await self.redis.srem("gw:held", conv)

    async def held_conversations(self, prefix: str) -> list[str]:
        return sorted(c for c in (decode(x) for x in await self.redis.smembers("gw:held")) if c.startswith(prefix))


def connect(url: str, max_connections: int = 64) -> Any:
    """An async Redis client for a gateway: a bounded pool that waits for a free connection (instead of failing
    under a burst of residents), and commands that reconnect and retry with backoff when Redis restarts."""
    # no socket timeout: consumers block on XREADGROUP for longer than any fixed timeout would allow
    return connect_async(url, max_connections=max_connections, socket_timeout=None)
