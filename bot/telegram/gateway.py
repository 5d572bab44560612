"""Telegram gateway process: `python -m bot.telegram`.

One python-telegram-bot Application serves two audiences: the volunteers' team group (tickets, see team.py) and
residents who talk to the assistant in a private chat (conversation ids `telegram:<chat id>`). Updates come by webhook
(`X-Telegram-Bot-Api-Secret-Token` checked) or, for development, by polling.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.handoff import TEAM_STREAM, consume
from bot.health import redis_health, redis_metrics, stream_groups
from bot.inbound import Inbound, consumer_name
from bot.relay import SHARED_SECRET, Relay, build_relay
from bot.render import NON_TEXT_TEXT, Reply, split_text
from bot.settings import CommonSettings, TelegramSettings
from bot.state import DEDUPE_TTL_S
from bot.telegram.team import TeamDesk
from bot.verify import same_secret
from common.logs import setup_logging
from common.messages import say
from common.settings import exit_on_bad_settings

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
TEXT_LIMIT = 4096
USED_BUTTON_TEXT = say("gateway.used_button")


def _id_of(update: Update) -> str:
    """The resident message's id for Rasa (Telegram numbers messages per chat)."""
    message, chat = update.effective_message, update.effective_chat
    return f"{chat.id}:{message.message_id}" if message and chat else ""


class TelegramGateway:
    """Build the Application and its handlers; run the background loops beside it."""

    def __init__(self, settings: TelegramSettings, common: CommonSettings, redis: Any) -> None:
        self.settings = settings
        self.common = common
        self.redis = redis
        builder = (
            ApplicationBuilder()
            .token(settings.token)
            .base_url(f"{settings.api_base}/bot")
            .base_file_url(f"{settings.api_base}/file/bot")
            # Telegram's limits: 20 messages a minute in a group, 30 a second overall
            .rate_limiter(AIORateLimiter(overall_max_rate=30, group_max_rate=20, group_time_period=60, max_retries=3))
        )
        if settings.mode == "webhook":
            builder = builder.updater(None)  # updates arrive through our aiohttp webhook, not getUpdates
        self.application: Application = builder.build()
        self.relay: Relay = build_relay(CHANNEL, redis, common.rasa_url, self.deliver, common.rasa_timeout_s,
                                       commune=common.commune_id,
                                       pseudonym_key=common.pseudonym_key, replica=common.replica)
        self.desk = TeamDesk(self.application.bot, settings.team_chat_id, self.relay.tickets, self.relay.state,
                             self.relay.bus, settings.reminder_minutes)
        # webhook updates are kept in Redis before Telegram hears 200 (bot/inbound.py)
        self.inbound = Inbound(redis, CHANNEL, self._handle_kept, consumer=consumer_name(common.replica, CHANNEL))
        self._stop = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._add_handlers()

    def _add_handlers(self) -> None:
        team = filters.Chat(self.settings.team_chat_id)
        private = filters.ChatType.PRIVATE
        app = self.application
        app.add_handler(CallbackQueryHandler(self.desk.on_button, pattern=r"^t:"))
        app.add_handler(CallbackQueryHandler(self.on_resident_button, pattern=r"^p:"))
        app.add_handler(CommandHandler("tickets", self.desk.cmd_tickets, filters=team | private))
        app.add_handler(CommandHandler("stats", self.desk.cmd_stats, filters=team | private))
        app.add_handler(CommandHandler("tt", self.desk.cmd_procedures, filters=team | private))
        app.add_handler(MessageHandler(team & filters.TEXT & ~filters.COMMAND, self.desk.on_group_text))
        app.add_handler(CommandHandler("start", self.on_start, filters=private))
        app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, self.on_resident_text))
        app.add_handler(MessageHandler(private & ~filters.TEXT & ~filters.COMMAND, self.on_resident_media))
        app.add_error_handler(self.on_error)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log a failed update (never the raw error to a resident or volunteer)."""
        logger.error("Handling a Telegram update failed", exc_info=context.error)

    # --- residents in private chats ------------------------------------------------------------------------------

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat:
            await self.relay.incoming(f"{CHANNEL}:{update.effective_chat.id}", "/greet", message_id=_id_of(update))

    async def on_resident_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message and message.text and update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
            await self.relay.incoming(f"{CHANNEL}:{update.effective_chat.id}", message.text,
                                      message_id=_id_of(update))

    async def on_resident_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat:
            conv = f"{CHANNEL}:{update.effective_chat.id}"
            await self.relay.state.touch_inbound(conv)
            await self.deliver(conv, [Reply(text=NON_TEXT_TEXT, custom={"kind": "bad_input"})])

    async def on_resident_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button works once, in the chat it was sent to; pressing it removes the message's buttons."""
        query = update.callback_query
        if query is None or not query.data or update.effective_chat is None:
            return
        conv = f"{CHANNEL}:{update.effective_chat.id}"
        payload = await self.relay.state.use_button(conv, query.data[2:])
        await query.answer()
        if query.message is not None:
            try:
                await query.edit_message_reply_markup(reply_markup=None)
            except Exception:  # noqa: BLE001 - already edited, or too old to edit: the key is spent anyway
                logger.info("Could not remove the buttons of a pressed message")
        if payload is None:
            await self.deliver(conv, [Reply(text=USED_BUTTON_TEXT, custom={"kind": "bad_input"})])
            return
        await self.relay.incoming(conv, payload, message_id=f"cb:{query.id}")

    async def deliver(self, conv: str, replies: list[Reply]) -> None:
        """Send replies to a resident's private chat; buttons become an inline keyboard, one per row."""
        chat_id = int(conv.split(":", 1)[1])
        for reply in replies:
            parts = split_text(reply.text, TEXT_LIMIT) or ["…"]
            markup = None
            if reply.buttons:
                rows = [[InlineKeyboardButton(b.title[:64],
                                              callback_data=f"p:{await self.relay.state.button_key(conv, b.payload)}")]
                        for b in reply.buttons]
                markup = InlineKeyboardMarkup(rows)
            for i, part in enumerate(parts):
                await self.application.bot.send_message(chat_id, part, reply_markup=markup if i == len(parts) - 1 else None,
                                                        disable_web_page_preview=True)

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Initialise the bot, start handlers and the background loops (team events, outbox, reminders)."""
        await self.application.initialize()
        await self.application.start()
        consumer = self.relay.consumer
        self._loops = [
            asyncio.create_task(consume(self.redis, TEAM_STREAM, "telegram", consumer, self.desk.on_team_event,
                                        self._stop)),
            asyncio.create_task(self.relay.run(self._stop)),
            asyncio.create_task(self.desk.remind_loop(self._stop)),
            asyncio.create_task(self.inbound.run(self._stop)),
        ]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._loops, return_exceptions=True)
        if self.application.updater and self.application.updater.running:
            await self.application.updater.stop()
        await self.application.stop()
        await self.application.shutdown()
        await self.relay.rasa.aclose()

    def webhook_app(self) -> web.Application:
        """The aiohttp app that receives Telegram's webhook calls."""
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/webhooks/telegram", self.webhook)
        self._add_health(app)

        async def lifecycle(app: web.Application) -> Any:
            await self.start()
            yield
            await self.stop()

        app.cleanup_ctx.append(lifecycle)
        return app

    def health_app(self) -> web.Application:
        """`/healthz` and `/metrics` alone: what the gateway serves in polling mode, where it takes no webhook calls."""
        app = web.Application()
        self._add_health(app)
        return app

    def _add_health(self, app: web.Application) -> None:
        app.router.add_get("/healthz", redis_health(self.redis))
        app.router.add_get("/metrics", redis_metrics(self.relay.metrics, self.redis,
                                                     stream_groups(CHANNEL, (TEAM_STREAM, "telegram"))))

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not same_secret(given, self.settings.webhook_secret):
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = await request.json()
            update = Update.de_json(data, self.application.bot)
        except Exception:  # noqa: BLE001 - garbage in: refuse it, process nothing
            return web.json_response({"error": "invalid update"}, status=400)
        if update is None:
            return web.json_response({"ok": True})
        chat = update.effective_chat
        try:
            # kept and marked seen in one step: a gateway killed from here on loses nothing
            kept = await self.inbound.put(f"{CHANNEL}:{chat.id if chat else 'none'}", data,
                                          once=f"update:{update.update_id}", once_ttl_s=DEDUPE_TTL_S)
        except Exception:  # noqa: BLE001 - not kept: Telegram sends it again after a non-200
            logger.warning("Cannot keep a Telegram update; asking Telegram to retry", exc_info=True)
            return web.json_response({"error": "busy"}, status=503)
        if kept is None:
            return web.json_response({"ok": True, "duplicate": True})
        return web.json_response({"ok": True})

    async def _handle_kept(self, conv: str, data: dict[str, Any]) -> None:
        """Run one kept update through python-telegram-bot's handlers (an error is raised, so it is retried)."""
        update = Update.de_json(data, self.application.bot)
        if update is not None:
            token = SHARED_SECRET.set(bool(data.get("_shared_secret")))
            try:
                await self.application.process_update(update)
            finally:
                SHARED_SECRET.reset(token)


async def run_polling(gateway: TelegramGateway, host: str, port: int, stop: asyncio.Event | None = None) -> None:
    """Poll Telegram until `stop` (SIGINT/SIGTERM when not given), serving `/healthz` and `/metrics` on host:port."""
    runner = web.AppRunner(gateway.health_app(), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        await gateway.start()
        assert gateway.application.updater is not None
        await gateway.application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await gateway.stop()
    finally:
        await runner.cleanup()


def main() -> None:
    """Run the Telegram gateway (TELEGRAM_MODE=polling for development, webhook in production)."""
    from bot.state import connect

    settings, common = exit_on_bad_settings(lambda: (TelegramSettings.from_env(), CommonSettings.from_env()),
                                            "Telegram gateway")
    setup_logging(common.log_format, replica=common.replica)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines contain the bot token in URLs
    redis = connect(common.redis_url)
    gateway = TelegramGateway(settings, common, redis)
    if settings.mode == "webhook":
        logger.info("Telegram gateway (webhook) on %s:%s", common.host, settings.port)
        web.run_app(gateway.webhook_app(), host=common.host, port=settings.port, print=None)
    else:
        logger.info("Telegram gateway (polling), team chat %s; /healthz and /metrics on %s:%s", settings.team_chat_id,
                    common.host, settings.port)
        asyncio.run(run_polling(gateway, common.host, settings.port))
