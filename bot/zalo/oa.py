"""Zalo Official Account API v3 gateway: `python -m bot.zalo.oa`.

In: Zalo POSTs events to /webhooks/zalo-oa, signed with `X-ZEvent-Signature: mac=<sha256(app_id + raw body +
timestamp + OA secret key)>` (plain SHA-256, not HMAC). We check it, answer 200 at once (Zalo retries anything slower
than 2 s) and process in the background, deduplicated by `msg_id`.
Out: `POST /v3.0/oa/message/cs` with the `access_token` header. Error -216 (invalid/expired token) triggers one refresh
through `/v4/oa/access_token`; Zalo rotates the refresh token on every use, so both tokens live in Redis and only one
process refreshes at a time.

Zalo's message rules (Zalo OA support, "Các loại tin của Zalo Official Account",
https://zalooa.freshdesk.com/support/solutions/articles/64000261136): after a resident writes, the OA may send 8 free
replies ("tin phản hồi") within 48 hours; the 9th, or anything later, is a proactive message ("tin chủ động": a
verified OA, 1,000 free a month, then paid), and a message sent through the Open API that carries only `user_id`, not
the resident's `message_id`, is counted as proactive. So every send names the resident's latest message
(`recipient.message_id`, from the webhook's `msg_id`), no resident message gets more than 8 (parts are merged to fit),
and past the window a message is sent as proactive only when the commune enabled it (ZALO_OA_PROACTIVE=1); otherwise
it is set aside and the volunteer is told. The `quota` Zalo reports with each send is counted per day.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Any

import httpx
from aiohttp import web

from bot.handoff import PermanentFailure
from bot.health import redis_health, redis_metrics, stream_groups
from bot.inbound import Inbound, consumer_name
from bot.quota import KEEP_DAYS, QUOTA_KEY, SENT_KEY, vn_day
from bot.relay import Relay, build_relay
from bot.render import NON_TEXT_TEXT, Reply, numbered_choices, pick_number, split_text
from bot.settings import CommonSettings, ZaloOASettings
from bot.state import DEDUPE_TTL_S, decode
from bot.verify import same_secret
from common.logs import setup_logging
from common.metrics import GatewayMetrics, is_redis_error
from common.settings import exit_on_bad_settings

logger = logging.getLogger(__name__)

CHANNEL = "zalo"
TEXT_LIMIT = 2000
MAX_BUTTONS = 5  # an OA message carries at most 5 buttons; longer menus become numbered choices
BUTTON_TITLE_LIMIT = 100
TOKEN_ERRORS = {-216, -124}  # access token invalid / expired
NON_TEXT_EVENTS = {"user_send_image", "user_send_sticker", "user_send_audio", "user_send_video", "user_send_file",
                   "user_send_gif", "user_send_location", "user_send_link", "user_send_business_card"}
RETRY_DELAYS_S = (0.5, 1.0, 2.0)
FREE_REPLIES = 8  # per resident message
REPLY_WINDOW_S = 48 * 3600
LAST_MESSAGE_KEY = "gw:zalo_oa:last_msg:{user}"  # the resident's latest message id, kept for the reply window
REPLIES_KEY = "gw:zalo_oa:replies:{message}"  # replies sent to one resident message

FUTURE_SKEW_S = 300  # a timestamp this far ahead of our clock is refused too


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret: str) -> str:
    """The value Zalo puts in X-ZEvent-Signature."""
    digest = hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + oa_secret.encode()).hexdigest()
    return f"mac={digest}"


class DeliveryError(RuntimeError):
    """Zalo did not take a message after retries (network, 5xx); the caller queues it for later."""


class OutsideReplyWindow(PermanentFailure):
    """The resident's 8 free replies (48 h) are used up and the commune sends no proactive messages."""

    reason = "reply_window"


def fit(messages: list[dict[str, Any]], room: int) -> list[dict[str, Any]]:
    """At most `room` messages: neighbouring parts merged (a part with buttons ends its group), text kept whole."""
    if len(messages) <= room:
        return messages
    merged: list[dict[str, Any]] = []
    for message in messages:
        last = merged[-1] if merged else None
        if (last is not None and "attachment" not in last
                and len(last.get("text", "")) + 2 + len(message.get("text", "")) <= TEXT_LIMIT):
            merged[-1] = {**message, "text": f"{last.get('text', '')}\n\n{message.get('text', '')}".strip()}
        else:
            merged.append(dict(message))
    if len(merged) > room:  # only with far more text than any reply has: the rest joins the last part, cut
        tail = "\n\n".join(m.get("text", "") for m in merged[room - 1:])
        merged = [*merged[:room - 1], {**merged[-1], "text": tail[:TEXT_LIMIT]}]
    return merged


class ZaloOAClient:
    """Send consultation messages as the OA, refreshing tokens when Zalo says they are no longer valid."""

    def __init__(self, settings: ZaloOASettings, redis: Any, http: httpx.AsyncClient | None = None,
                 metrics: GatewayMetrics | None = None) -> None:
        self.settings = settings
        self.redis = redis
        self.http = http or httpx.AsyncClient(timeout=10)
        self.metrics = metrics

    async def access_token(self) -> str:
        return decode(await self.redis.get("gw:zalo_oa:access_token")) or self.settings.access_token

    async def send(self, recipient: dict[str, str], message: dict[str, Any]) -> None:
        """POST one message to `recipient` ({"message_id"} to reply, {"user_id"} for a proactive one); retries network
        errors and 5xx with backoff, refreshes the token once on -216, and counts how Zalo charged it."""
        body = {"recipient": recipient, "message": message}
        refreshed = False
        attempt = 0
        while True:
            token = await self.access_token()
            try:
                response = await self.http.post(f"{self.settings.api_base}/v3.0/oa/message/cs", json=body,
                                                headers={"access_token": token})
                transient = response.status_code >= 500 or response.status_code == 429
            except httpx.HTTPError as exc:
                logger.warning("Zalo OA unreachable: %s", exc.__class__.__name__)
                transient, response = True, None
            if not transient and response is not None:
                data = response.json()
                error = int(data.get("error", 0) or 0)
                if error == 0:
                    await self.count(data.get("data") or {})
                    return
                if error in TOKEN_ERRORS and not refreshed:
                    await self.refresh(token)
                    refreshed = True
                    continue
                raise PermanentFailure(f"Zalo OA refused the message: error {error} {data.get('message', '')}")
            if attempt >= len(RETRY_DELAYS_S):
                raise DeliveryError("Zalo OA did not accept the message after retries")
            await asyncio.sleep(RETRY_DELAYS_S[attempt])
            attempt += 1

    async def count(self, data: dict[str, Any]) -> None:
        """Record how Zalo counted a send: its quota type (no quota: a paid message) and the quota it reports."""
        quota = data.get("quota") if isinstance(data.get("quota"), dict) else None
        kind = str(quota.get("quota_type") or "other") if quota else "paid"
        key = SENT_KEY.format(day=vn_day())
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hincrby(key, kind, 1).expire(key, KEEP_DAYS * 86400)
                if quota:
                    pipe.hset(QUOTA_KEY, kind, json.dumps({**quota, "at": round(time.time())}, ensure_ascii=False))
                await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - counting must not fail a delivered message
            logger.warning("Could not record the Zalo OA quota", exc_info=True)
            if self.metrics is not None and is_redis_error(exc):
                self.metrics.redis_error("zalo_quota")

    async def refresh(self, stale_token: str) -> None:
        """Exchange the refresh token for a new pair (one process at a time; others wait and reuse the result)."""
        if not await self.redis.set("gw:zalo_oa:refresh_lock", "1", nx=True, ex=30):
            for _ in range(50):
                await asyncio.sleep(0.1)
                if await self.access_token() != stale_token:
                    return
            raise DeliveryError("another process is refreshing the Zalo OA token")
        try:
            refresh_token = decode(await self.redis.get("gw:zalo_oa:refresh_token")) or self.settings.refresh_token
            response = await self.http.post(
                f"{self.settings.oauth_base}/v4/oa/access_token",
                data={"refresh_token": refresh_token, "app_id": self.settings.app_id, "grant_type": "refresh_token"},
                headers={"secret_key": self.settings.app_secret})
            data = response.json()
            if not data.get("access_token") or not data.get("refresh_token"):
                # an operator must issue new tokens: say so plainly in the log, without the tokens
                raise PermanentFailure(f"Zalo OA token refresh refused: error {data.get('error')} "
                                       f"{data.get('error_name') or data.get('message') or ''}")
            expires = int(data.get("expires_in") or 90000)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set("gw:zalo_oa:access_token", data["access_token"], ex=max(60, expires - 300))
                pipe.set("gw:zalo_oa:refresh_token", data["refresh_token"])
                await pipe.execute()
            logger.info("Zalo OA access token refreshed (valid %s s)", expires)
        finally:
            await self.redis.delete("gw:zalo_oa:refresh_lock")


def render(reply: Reply) -> tuple[list[dict[str, Any]], list[str]]:
    """Zalo OA messages for one reply, and the payloads of numbered choices (when there are too many buttons)."""
    text = reply.text
    buttons, numbered = list(reply.buttons), []
    if len(buttons) > MAX_BUTTONS:
        text = f"{text}\n\n{numbered_choices(reply.buttons)}".strip()
        numbered, buttons = [b.payload for b in reply.buttons], []
    parts = split_text(text, TEXT_LIMIT) or ([" "] if buttons else [])
    messages: list[dict[str, Any]] = [{"text": part} for part in parts]
    if buttons and messages:
        messages[-1]["attachment"] = {"type": "template", "payload": {"buttons": [
            {"title": b.title[:BUTTON_TITLE_LIMIT], "type": "oa.query.hide", "payload": b.payload}
            for b in buttons]}}
    return messages, numbered


class ZaloOAGateway:
    """The webhook server and the delivery side for Zalo OA residents (conversation ids `zalo:<user id>`)."""

    def __init__(self, settings: ZaloOASettings, common: CommonSettings, redis: Any,
                 http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.common = common
        self.redis = redis
        self.relay: Relay = build_relay(CHANNEL, redis, common.rasa_url, self.deliver, common.rasa_timeout_s,
                                       commune=common.commune_id,
                                       pseudonym_key=common.pseudonym_key, replica=common.replica)
        self.client = ZaloOAClient(settings, redis, http, metrics=self.relay.metrics)
        self.inbound = Inbound(redis, CHANNEL, self._handle_event, consumer=consumer_name(common.replica, CHANNEL))

    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024)
        app.router.add_post("/webhooks/zalo-oa", self.webhook)
        app.router.add_get("/healthz", redis_health(self.redis))
        app.router.add_get("/metrics", redis_metrics(self.relay.metrics, self.redis, stream_groups(CHANNEL),
                                                     zalo_quota=True))
        app.cleanup_ctx.append(self._background)
        return app

    async def _background(self, app: web.Application) -> Any:
        stop = asyncio.Event()
        runners = [asyncio.create_task(self.relay.run(stop)), asyncio.create_task(self.inbound.run(stop))]
        yield
        stop.set()
        await asyncio.wait(runners, timeout=15)
        await self.relay.rasa.aclose()

    async def webhook(self, request: web.Request) -> web.Response:
        """Check the signature, answer at once, process in the background."""
        raw = await request.read()
        try:
            event = json.loads(raw)
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except ValueError:
            return web.json_response({"error": "invalid JSON"}, status=400)
        given = request.headers.get("X-ZEvent-Signature", "")
        expected = signature(self.settings.app_id, raw, str(event.get("timestamp", "")), self.settings.secret_key)
        if not same_secret(given, expected) or str(event.get("app_id")) != self.settings.app_id:
            logger.warning("Zalo OA webhook with a bad signature refused")
            return web.json_response({"error": "bad signature"}, status=401)
        if not self.fresh(event.get("timestamp")):
            # signed, but old: someone replays a captured event (Zalo itself retries within seconds)
            logger.warning("Zalo OA event with a stale or missing timestamp refused")
            return web.json_response({"error": "stale event"}, status=401)
        # Zalo retries a slow webhook with the same msg_id; events without one are recognised by their bytes
        event_key = str((event.get("message") or {}).get("msg_id") or "") \
            or "body:" + hashlib.sha256(raw).hexdigest()[:32]
        user_id = str((event.get("sender") or {}).get("id", ""))
        try:
            # in Redis before Zalo hears 200, marked seen in the same step: a gateway killed from here on loses
            # nothing (bot/inbound.py)
            kept = await self.inbound.put(f"{CHANNEL}:{user_id}", event, once=event_key, once_ttl_s=DEDUPE_TTL_S)
        except Exception:  # noqa: BLE001 - not kept: let Zalo send it again
            logger.warning("Cannot keep a Zalo OA event; asking Zalo to retry", exc_info=True)
            return web.json_response({"error": "busy"}, status=503)
        if kept is None:
            logger.info("Zalo OA event %s seen before; ignored", event_key)
            return web.json_response({"ok": True, "duplicate": True})
        return web.json_response({"ok": True})

    def fresh(self, timestamp: Any) -> bool:
        """True when the event's timestamp (milliseconds since the epoch) is recent enough to be a live event."""
        try:
            sent_s = float(str(timestamp)) / 1000
        except ValueError:
            return False
        age = time.time() - sent_s
        return -FUTURE_SKEW_S <= age <= self.settings.max_event_age_s

    async def _handle_event(self, conv: str, event: dict[str, Any]) -> None:
        await self.process(event, raise_errors=True)

    async def process(self, event: dict[str, Any], raise_errors: bool = False) -> None:
        """One verified event: text goes to the Relay, other media get a friendly reply, the rest is ignored."""
        name = str(event.get("event_name", ""))
        user_id = str((event.get("sender") or {}).get("id", ""))
        message = event.get("message") or {}
        msg_id = str(message.get("msg_id", ""))
        if not user_id or not (name == "user_send_text" or name in NON_TEXT_EVENTS):
            return
        try:
            conv = f"{CHANNEL}:{user_id}"
            if msg_id:  # the message the OA's next replies answer (Zalo's reply window starts here)
                await self.redis.set(LAST_MESSAGE_KEY.format(user=user_id), msg_id, ex=REPLY_WINDOW_S)
            if name != "user_send_text":
                await self.relay.state.touch_inbound(conv)
                await self.relay.send_replies(conv, [Reply(text=NON_TEXT_TEXT, custom={"kind": "bad_input"})])
                return
            text = str(message.get("text") or "")
            choices = await self.relay.state.choices(conv)
            number = pick_number(text, len(choices)) if choices else None
            await self.relay.incoming(conv, choices[number - 1] if number else text, message_id=msg_id,
                                      shared_secret=bool(event.get("_shared_secret")))
        except Exception:  # noqa: BLE001 - a background task: log, never crash the server
            logger.exception("Processing a Zalo OA event failed")
            if raise_errors:
                raise  # the intake keeps the event and hands it out again

    async def deliver(self, conv: str, replies: list[Reply]) -> None:
        """Send replies to one resident, in order, as replies to their latest message (at most 8 for it)."""
        user_id = conv.split(":", 1)[1]
        numbered: list[str] = []
        messages: list[dict[str, Any]] = []
        for reply in replies:
            rendered, choices = render(reply)
            numbered = choices or ([] if reply.buttons else numbered)
            messages += rendered
        message_id = decode(await self.redis.get(LAST_MESSAGE_KEY.format(user=user_id)))
        if message_id:
            used = int(decode(await self.redis.get(REPLIES_KEY.format(message=message_id))) or 0)
            messages = fit(messages, max(1, FREE_REPLIES - used))
        for message in messages:
            await self.client.send(await self.recipient(user_id, message_id), message)
        await self.relay.state.save_choices(conv, numbered)

    async def recipient(self, user_id: str, message_id: str) -> dict[str, str]:
        """Whom one message goes to: a reply to the resident's message while one of its 8 is left, else a proactive
        message if the commune allows them; otherwise OutsideReplyWindow (set aside, the volunteer is told)."""
        if message_id:
            key = REPLIES_KEY.format(message=message_id)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key).expire(key, REPLY_WINDOW_S)
                used, _ = await pipe.execute()
            if int(used) <= FREE_REPLIES:
                return {"message_id": message_id}
        if self.settings.proactive:
            return {"user_id": user_id}
        raise OutsideReplyWindow("Zalo's reply window for this resident is used up (8 replies / 48 h after their "
                                 "last message) and ZALO_OA_PROACTIVE is off")


def main() -> None:
    """Run the Zalo OA gateway until interrupted."""
    from bot.state import connect

    settings, common = exit_on_bad_settings(lambda: (ZaloOASettings.from_env(), CommonSettings.from_env()),
                                            "Zalo OA gateway")
    setup_logging(common.log_format, replica=common.replica)
    gateway = ZaloOAGateway(settings, common, connect(common.redis_url))
    logger.info("Zalo OA gateway on %s:%s (Rasa %s)", common.host, settings.port, common.rasa_url)
    web.run_app(gateway.app(), host=common.host, port=settings.port, print=None)


if __name__ == "__main__":
    main()
