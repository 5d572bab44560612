"""Zalo Bot Platform gateway: `python -m bot.zalo.bot_platform`.

Zalo's bot API (bot-api.zaloplatforms.com) is shaped like Telegram's: updates arrive on a webhook (checked with the
`X-Bot-Api-Secret-Token` header) or by long polling, and replies go out with `sendMessage`. It has no buttons, so
choices are shown as a numbered list and "1", "2"… are mapped back to the button's payload.

We use `zalo_bot.Bot` (python-zalo-bot) only as an HTTP client, inside our own event loop. Its helpers that call
`asyncio.run()` (`set_webhook`, `delete_webhook`, `get_webhook_info`, `ext.Application.run_polling`) fail inside a
running loop, and `Application` awaits one update before reading the next; see the README's "Known SDK issues".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any

from aiohttp import web
from zalo_bot import Bot, Update
from zalo_bot.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter, TimedOut, ZaloError

from bot.handoff import PermanentFailure, wait_or_stop
from bot.health import redis_health, redis_metrics, stream_groups
from bot.inbound import Inbound, consumer_name
from bot.relay import SHARED_SECRET, Relay, build_relay
from bot.render import NON_TEXT_TEXT, Reply, numbered_choices, pick_number, split_text
from bot.settings import CommonSettings, SettingsError, ZaloBotSettings
from bot.state import DEDUPE_TTL_S, connect
from bot.verify import same_secret
from common.logs import setup_logging
from common.settings import exit_on_bad_settings

logger = logging.getLogger(__name__)

CHANNEL = "zalobot"  # one name: conversation ids `zalobot:<chat id>`, outbox `gw:out:zalobot`, Rasa's input channel
WEBHOOK_PATH = "/webhooks/zalo-bot"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_CHARS = 2000
TEXT_EVENT = "message.text.received"
NON_TEXT_NOTES = {
    "message.image.received": "ảnh",
    "message.sticker.received": "nhãn dán (sticker)",
    "message.voice.received": "tin nhắn thoại",
    "message.file.received": "tệp",
}
# Our own notices (busy, "I only read text") leave the numbered choices shown before them valid.
NOTICE_KINDS = {"error", "bad_input"}
SEND_BACKOFF_S = (0.5, 1.0, 2.0)
MAX_RETRY_AFTER_S = 30.0
POLL_TIMEOUT_S = 30
SHUTDOWN_GRACE_S = 10.0


def wire(value: Any) -> Any:
    """An SDK object as the JSON Zalo sent (python-zalo-bot's own `to_dict` leaves nested objects in, which JSON
    cannot carry): what the durable intake keeps of a polled update."""
    if hasattr(value, "to_dict") and not isinstance(value, dict):
        return {("from" if k == "from_user" else k): wire(v) for k, v in value.to_dict(recursive=False).items()}
    if isinstance(value, (list, tuple)):
        return [wire(v) for v in value]
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return value


class ZaloBotGateway:
    """Zalo Bot updates in, Rasa (through the Relay) in the middle, numbered plain-text replies out."""

    def __init__(self, bot: Bot, redis: Any, rasa_url: str, *, secret: str = "", rasa_timeout_s: float = 30.0,
                 commune: str = "vi-du", pseudonym_key: bytes = b"", replica: str = "", send_backoff: Sequence[float] = SEND_BACKOFF_S, max_retry_after: float = MAX_RETRY_AFTER_S) -> None:
        self.bot = bot
        self.redis = redis
        self.secret = secret
        self.send_backoff = tuple(send_backoff)
        self.max_retry_after = max_retry_after
        self.relay: Relay = build_relay(CHANNEL, redis, rasa_url, self.deliver, rasa_timeout_s,
                                       commune=commune, pseudonym_key=pseudonym_key, replica=replica)
        self.state = self.relay.state
        self.inbound = Inbound(redis, CHANNEL, self._handle_event, consumer=consumer_name(replica, CHANNEL))
        self._tasks: set[asyncio.Task[None]] = set()
        self._order: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self._intake: asyncio.Task[None] | None = None
        self._intake_stop = asyncio.Event()

    # -- HTTP --------------------------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        """/healthz and /metrics always; the webhook route only when a secret is set (webhook mode)."""
        app = web.Application(client_max_size=256 * 1024)
        app.router.add_get("/healthz", redis_health(self.redis))
        app.router.add_get("/metrics", redis_metrics(self.relay.metrics, self.redis, stream_groups(CHANNEL)))
        if self.secret:
            app.router.add_post(WEBHOOK_PATH, self.webhook)
        app.cleanup_ctx.append(self._intake_lifetime)
        return app

    async def _intake_lifetime(self, app: web.Application) -> AsyncIterator[None]:
        self.start_intake()
        yield
        await self.stop_intake()

    def start_intake(self) -> None:
        """Handle kept updates in the background (webhook and polling both keep them first)."""
        if self._intake is None or self._intake.done():
            self._intake_stop.clear()
            self._intake = asyncio.create_task(self.inbound.run(self._intake_stop))

    async def stop_intake(self) -> None:
        self._intake_stop.set()
        if self._intake is not None:
            await asyncio.wait([self._intake], timeout=SHUTDOWN_GRACE_S)

    async def keep(self, update: Update, data: dict[str, Any], once: str = "") -> bool:
        """Put an update in the durable intake (bot/inbound.py); False if `once` was seen before; raises when
        Redis cannot take it."""
        message = update.message
        assert message is not None
        return await self.inbound.put(f"{CHANNEL}:{message.chat.id}", data, once=once,
                                      once_ttl_s=DEDUPE_TTL_S) is not None

    async def _handle_event(self, conv: str, data: dict[str, Any]) -> None:
        update = self.parse(data)
        if update is not None and update.message is not None:
            token = SHARED_SECRET.set(bool(data.get("_shared_secret")))
            try:
                await self.process(update)
            finally:
                SHARED_SECRET.reset(token)

    async def webhook(self, request: web.Request) -> web.Response:
        """Check the secret, parse, drop repeats, answer 200 at once; the work runs in a background task."""
        given = request.headers.get(SECRET_HEADER, "")
        if not same_secret(given, self.secret):
            logger.warning("Zalo Bot webhook call with a missing or wrong secret token from %s", request.remote)
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid JSON"}, status=400)
        update = self.parse(body)
        if update is None:
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        if update.message is None:
            # other events (a user following the bot…): nothing to answer
            return web.json_response({"ok": True, "ignored": True})
        message_id = str(update.message.message_id)
        try:
            # kept in Redis and marked seen in one step before Zalo hears 200: a gateway killed from here on loses
            # nothing, and Zalo's redelivery of it is recognised
            kept = await self.keep(update, body.get("result") if isinstance(body.get("result"), dict) else body,
                                   once=message_id)
        except Exception:  # noqa: BLE001 - not kept: let Zalo send it again
            logger.warning("Cannot keep a Zalo Bot update; asking Zalo to retry", exc_info=True)
            return web.json_response({"ok": False, "error": "busy"}, status=503)
        if not kept:
            logger.info("Zalo Bot redelivered message %s; already handled", message_id)
            return web.json_response({"ok": True, "duplicate": True})
        return web.json_response({"ok": True})

    def parse(self, body: Any) -> Update | None:
        """An Update from a webhook body (wrapped as `{"ok", "result"}` or bare); None if it is not one."""
        if not isinstance(body, dict):
            return None
        result = body.get("result")
        data: dict[str, Any] = result if isinstance(result, dict) else body
        try:
            update = Update.de_json(dict(data), self.bot)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            return None
        if update is None:
            return None
        message = update.message
        if message is not None and (message.chat is None or not message.chat.id):
            return None
        return update

    # -- long polling (development) ---------------------------------------------------------------------------------
    async def poll(self, stop: asyncio.Event) -> None:
        """getUpdates until `stop`; each update is handled in its own task so one slow answer blocks no one."""
        delay = 1.0
        while not stop.is_set():
            try:
                update = await self.bot.get_update(timeout=POLL_TIMEOUT_S)
            except TimedOut:
                continue  # a long poll with nothing to deliver
            except InvalidToken:
                logger.critical("Zalo Bot rejected ZALO_BOT_TOKEN; stopping")
                stop.set()
                return
            except Exception as exc:  # noqa: BLE001 - network or API trouble: back off and poll again
                hint = " (is a webhook set? polling needs it deleted)" if isinstance(exc, Conflict) else ""
                logger.warning("getUpdates failed: %s%s; retrying in %.0f s", exc, hint, delay)
                await wait_or_stop(stop, delay)
                delay = min(delay * 2, 60.0)
                continue
            delay = 1.0
            if update is None or update.message is None:
                continue
            try:
                # a repeat (the same message id polled again) is not kept twice
                await self.keep(update, wire(update), once=str(update.message.message_id))
            except Exception:  # noqa: BLE001 - Redis away: better answer it now than drop it
                logger.warning("Cannot keep a polled update; handling it directly", exc_info=True)
                self.spawn(self.process(update))

    # -- one update --------------------------------------------------------------------------------------------------
    def spawn(self, work: Awaitable[None]) -> None:
        """Run in the background, keeping a reference (so the task is not collected) until it ends."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("Handling a Zalo Bot update failed", exc_info=task.exception())

    async def drain(self, timeout: float = SHUTDOWN_GRACE_S) -> None:
        """Wait until every kept update has been handled (on shutdown, and in tests)."""
        await self.inbound.wait_idle(timeout)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def process(self, update: Update) -> None:
        """Text goes to the Relay (a number picks a shown choice); anything else gets a polite "text only"."""
        message = update.message
        conv = f"{CHANNEL}:{message.chat.id}"
        event = str(update.api_kwargs.get("event_name") or (TEXT_EVENT if message.text else ""))
        async with self._in_order(conv):
            if event == TEXT_EVENT:
                # an empty text still gets an answer (the assistant says it received nothing)
                text = (message.text or "").strip()
                await self.relay.incoming(conv, await self._choice_or_text(conv, text) if text else text,
                                          message_id=str(message.message_id))
                return
            await self._non_text(conv, event)

    async def _choice_or_text(self, conv: str, text: str) -> str:
        """ "2" after a numbered list means the second choice's payload; while a volunteer helps it is just "2"."""
        choices = await self.state.choices(conv)
        if not choices or await self.relay.tickets.active_for(conv):
            return text
        number = pick_number(text, len(choices))
        return choices[number - 1] if number else text

    async def _non_text(self, conv: str, event: str) -> None:
        await self.state.touch_inbound(conv)
        ticket = await self.relay.tickets.active_for(conv)
        if ticket:
            # the volunteer should know something was sent that they cannot see
            what = NON_TEXT_NOTES.get(event, "tin nhắn không phải chữ")
            await self.relay.bus.to_team("resident_message", ticket.id, f"[Người dân gửi {what}, kênh chỉ chuyển chữ]")
        # Relay.send_replies queues the reply in the outbox if Zalo cannot take it now
        await self.relay.send_replies(conv, [Reply(text=NON_TEXT_TEXT, custom={"kind": "bad_input", "problem": "non_text"})])

    @contextlib.asynccontextmanager
    async def _in_order(self, conv: str) -> AsyncIterator[None]:
        """One conversation's messages, one after another within this process (an update handled directly when
        Redis could not keep it). Across replicas the order comes from the intake's per-conversation queue
        (bot/inbound.py) and the conversation lock (bot/state.py)."""
        lock, users = self._order.setdefault(conv, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                self._order.pop(conv, None)

    # -- out ---------------------------------------------------------------------------------------------------------
    async def deliver(self, conv: str, replies: list[Reply]) -> None:
        """Send replies as plain text (choices numbered, long texts split); raises if Zalo cannot take them now."""
        chat_id = conv.split(":", 1)[1]
        shown: list[str] | None = None
        parts: list[str] = []
        for reply in replies:
            text = reply.text.strip()
            if reply.buttons:
                choices = numbered_choices(reply.buttons)
                text = f"{text}\n\n{choices}" if text else choices
                shown = [b.payload for b in reply.buttons]
            parts.extend(split_text(text, MAX_CHARS))
        # saved before sending, so a quick "2" already finds them
        if shown is not None:
            await self.state.save_choices(conv, shown)
        elif any(r.kind not in NOTICE_KINDS for r in replies):
            await self.state.save_choices(conv, [])
        for part in parts:
            await self.send_text(chat_id, part)

    async def send_text(self, chat_id: str, text: str) -> None:
        """sendMessage with retries on network errors, 5xx and rate limits; PermanentFailure when Zalo refuses."""
        attempts = len(self.send_backoff) + 1
        for attempt in range(attempts):
            try:
                sent = await self.bot.send_message(chat_id, text)
            except (BadRequest, Forbidden) as exc:
                # 400/403: the chat is gone or blocked the bot; retrying cannot help
                raise PermanentFailure(f"Zalo Bot refused a message: {exc.__class__.__name__}") from exc
            except InvalidToken:
                raise  # configuration: the outbox keeps the message until the token is fixed
            except RetryAfter as exc:
                if attempt == attempts - 1:
                    raise
                wait = min(float(exc.retry_after), self.max_retry_after)
                logger.warning("Zalo Bot rate limit; retrying in %.1f s", wait)
            except ZaloError as exc:  # NetworkError, TimedOut, 5xx, unreadable answers
                if attempt == attempts - 1:
                    raise
                wait = self.send_backoff[attempt]
                logger.warning("sendMessage failed (%s); retry %d in %.1f s", exc, attempt + 1, wait)
            else:
                if sent is not None:
                    return
                # HTTP 200 without a result: `ok` was false; retry, then give up on this message
                if attempt == attempts - 1:
                    raise PermanentFailure("Zalo Bot answered sendMessage without a result")
                wait = self.send_backoff[attempt]
            await asyncio.sleep(wait)

    async def aclose(self) -> None:
        await self.relay.rasa.aclose()


async def register_webhook(bot: Bot, url: str, secret: str) -> None:
    """Point Zalo at our webhook. `Bot.set_webhook` calls asyncio.run() and fails in a running loop: use the
    coroutine underneath it."""
    if not url.startswith("https://"):
        raise SettingsError(f"ZALO_BOT_WEBHOOK_URL must be an https:// URL, got {url!r}")
    if not await bot._set_webhook_async(url, secret):
        raise RuntimeError("Zalo Bot did not accept the webhook URL")
    info = await bot._get_webhook_info_async()
    logger.info("Zalo Bot webhook set to %s", getattr(info, "url", url))


async def serve(settings: ZaloBotSettings, common: CommonSettings, webhook_url: str = "",
                stop: asyncio.Event | None = None) -> None:
    """Run the gateway until `stop` is set (SIGINT/SIGTERM when run as a program)."""
    stop = stop or asyncio.Event()
    redis = connect(common.redis_url)
    bot = Bot(settings.token, settings.api_base)
    await bot.initialize()  # getMe: a wrong token fails here, at start-up
    gateway = ZaloBotGateway(bot, redis, common.rasa_url, secret=settings.webhook_secret,
                             rasa_timeout_s=common.rasa_timeout_s, commune=common.commune_id,
                             pseudonym_key=common.pseudonym_key, replica=common.replica)
    runner = web.AppRunner(gateway.app(), access_log=None)
    try:
        if settings.mode == "webhook" and webhook_url:
            await register_webhook(bot, webhook_url, settings.webhook_secret)
        await runner.setup()
        await web.TCPSite(runner, common.host, settings.port).start()
        logger.info("Zalo Bot gateway (%s) on http://%s:%s%s, Rasa at %s", settings.mode, common.host, settings.port,
                    WEBHOOK_PATH if settings.mode == "webhook" else "/healthz", common.rasa_url)
        background = [asyncio.create_task(gateway.relay.run(stop))]
        if settings.mode == "polling":
            background.append(asyncio.create_task(gateway.poll(stop)))
        await stop.wait()
        logger.info("Stopping: finishing the messages in hand")
        await runner.shutdown()  # no new webhook calls
        for task in background[1:]:
            task.cancel()  # a long poll may be waiting 30 s
        await gateway.drain()
        await asyncio.gather(*background, return_exceptions=True)
    finally:
        await runner.cleanup()
        await gateway.aclose()
        await bot.shutdown()
        await redis.aclose()


def main() -> None:
    """Read the settings (fail fast on a missing token or secret) and serve until interrupted."""
    settings, common = exit_on_bad_settings(lambda: (ZaloBotSettings.from_env(), CommonSettings.from_env()),
                                            "Zalo Bot gateway")
    setup_logging(common.log_format, replica=common.replica)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, common, settings.webhook_url, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
