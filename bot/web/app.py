"""The web gateway: serves the widget and turns its JSON calls into Relay messages for the conversation `web:<id>`.

Replies are not pushed to the browser. The Relay delivers every reply for a conversation into the Redis list
`gw:inbox:web:<id>`; `POST /api/chat` drains it right after Rasa answered, and `GET /api/inbox` drains it for what
arrives later (a volunteer's words during a handoff, answers to messages held while Rasa was down).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.health import redis_health, redis_metrics, stream_groups
from bot.relay import Deliver, Relay, build_relay, new_message_id
from bot.render import Reply
from bot.web.settings import WebSettings
from common.messages import say

logger = logging.getLogger(__name__)

CHANNEL = "web"
STATIC_DIR = Path(__file__).parent / "static"
SENDER_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MESSAGE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_MESSAGE_CHARS = 1500
INBOX_TTL_S = 2 * 86400
# polling every 4 s is 15 calls a minute per open page; several residents may share one public IP
POLL_RATE_FACTOR = 10
RELAY_RESTART_S = 5.0

# the words are in messages/vi.yml
ERR_BAD_REQUEST = say("web.bad_request")
ERR_BAD_SENDER = say("web.bad_sender")
ERR_EMPTY = say("web.empty")
ERR_TOO_LONG = say("web.too_long", limit=MAX_MESSAGE_CHARS)
ERR_RATE = say("web.rate")
ERR_ORIGIN = say("web.origin")
ERR_BUSY = say("web.busy")

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

RELAY: web.AppKey[Relay] = web.AppKey("relay", Relay)
REDIS: web.AppKey[Any] = web.AppKey("redis", object)
SETTINGS: web.AppKey[WebSettings] = web.AppKey("settings", WebSettings)

RelayFactory = Callable[[Deliver], Relay]


def inbox_key(conv: str) -> str:
    return f"gw:inbox:{conv}"


def reply_json(reply: Reply) -> dict[str, Any]:
    """What the widget renders: text, buttons and the `custom` metadata (kind, source…)."""
    return {
        "text": reply.text,
        "buttons": [{"title": b.title, "payload": b.payload} for b in reply.buttons],
        "kind": reply.kind,
        "custom": reply.custom,
        "reply_to": reply.reply_to,
    }


def make_deliver(redis: Any) -> Deliver:
    """The web channel's delivery: append replies to the conversation's inbox, which the widget drains."""

    async def deliver(conv: str, replies: list[Reply]) -> None:
        if not replies:
            return
        key = inbox_key(conv)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *(json.dumps(reply_json(r), ensure_ascii=False) for r in replies))
            pipe.expire(key, INBOX_TTL_S)
            await pipe.execute()

    return deliver


# Take the replies to one message (and untagged ones: a volunteer's words), leave the rest for their own request or
# the next poll. Atomic, so two requests of one visitor (two tabs) never take each other's answers.
_TAKE = """
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local mine, rest = {}, {}
for _, item in ipairs(items) do
  local ok, obj = pcall(cjson.decode, item)
  local to = ''
  if ok and type(obj) == 'table' and type(obj['reply_to']) == 'string' then to = obj['reply_to'] end
  if ARGV[1] == '' or to == ARGV[1] or to == '' then table.insert(mine, item) else table.insert(rest, item) end
end
redis.call('DEL', KEYS[1])
if #rest > 0 then
  redis.call('RPUSH', KEYS[1], unpack(rest))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return mine
"""


async def drain(redis: Any, conv: str, reply_to: str = "") -> list[dict[str, Any]]:
    """Take what waits in a conversation's inbox, oldest first: everything, or the replies to one message."""
    items = await redis.eval(_TAKE, 1, inbox_key(conv), reply_to, INBOX_TTL_S)
    return [json.loads(x) for x in items]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _ok(body: dict[str, Any]) -> web.Response:
    response = web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False))
    response.headers["Cache-Control"] = "no-store"
    return response


def client_ip(request: web.Request, trust_forwarded: bool) -> str:
    """The visitor's address; behind our own reverse proxy, the last X-Forwarded-For hop (the one it added)."""
    if trust_forwarded:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if forwarded:
            return forwarded[-1]
    return request.remote or "unknown"


async def over_limit(redis: Any, bucket: str, ip: str, per_minute: int) -> bool:
    """A fixed one-minute window per IP in Redis; when Redis is away the request goes through (and fails later)."""
    key = f"gw:web:rate:{bucket}:{ip}:{int(time.time() // 60)}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key).expire(key, 120)
            count, _ = await pipe.execute()
    except Exception:  # noqa: BLE001 - the chat handler reports the outage itself
        logger.warning("Rate limit check failed", exc_info=True)
        return False
    return int(count) > per_minute


def _origin_allowed(request: web.Request, allowed: tuple[str, ...]) -> bool:
    """Same host, or a commune website listed in WEB_ALLOWED_ORIGIN (browsers always send Origin on cross-site POST)."""
    origin = request.headers.get("Origin")
    if not origin or origin.rstrip("/").lower() in allowed:
        return True
    return origin.split("://", 1)[-1].rstrip("/").lower() == request.host.lower()


def _with_headers(response: Any, cors_origin: str) -> Any:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if cors_origin:
        response.headers["Access-Control-Allow-Origin"] = cors_origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        response.headers["Vary"] = "Origin"
    return response


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Headers every response carries, and the CORS answer for commune websites that embed the widget."""
    settings = request.app[SETTINGS]
    origin = (request.headers.get("Origin") or "").rstrip("/").lower()
    cors = request.path.startswith("/api/") and origin in settings.allowed_origins
    if cors and request.method == "OPTIONS":
        return _with_headers(web.Response(status=204), origin if cors else "")
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _with_headers(exc, origin if cors else "")
        raise
    return _with_headers(response, origin if cors else "")


async def chat(request: web.Request) -> web.Response:
    """`{"sender", "message"}` → the Relay → `{"replies": [...], "handoff": bool}`."""
    settings, redis, relay = request.app[SETTINGS], request.app[REDIS], request.app[RELAY]
    if not _origin_allowed(request, settings.allowed_origins):
        return _error(403, ERR_ORIGIN)
    # a JSON content type forces a CORS preflight, so another site cannot post here with a plain form
    if request.content_type != "application/json":
        return _error(415, ERR_BAD_REQUEST)
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, ERR_TOO_LONG)
    except (ValueError, UnicodeDecodeError):
        return _error(400, ERR_BAD_REQUEST)
    if not isinstance(body, dict):
        return _error(400, ERR_BAD_REQUEST)
    sender, message, message_id = body.get("sender"), body.get("message"), body.get("id")
    if not isinstance(sender, str) or not SENDER_RE.fullmatch(sender):
        return _error(400, ERR_BAD_SENDER)
    # the widget's id for this message: a retry after a lost answer sends the same id and is not run twice
    if message_id is not None and (not isinstance(message_id, str) or not MESSAGE_ID_RE.fullmatch(message_id)):
        return _error(400, ERR_BAD_REQUEST)
    if not isinstance(message, str):
        return _error(400, ERR_BAD_REQUEST)
    message = message.strip()
    if not message:
        return _error(400, ERR_EMPTY)
    if len(message) > MAX_MESSAGE_CHARS:
        return _error(400, ERR_TOO_LONG)
    if await over_limit(redis, "chat", client_ip(request, settings.trust_forwarded), settings.rate_per_minute):
        return _error(429, ERR_RATE)
    conv = f"{CHANNEL}:{sender}"
    try:
        message_id = message_id or new_message_id()
        await relay.incoming(conv, message, message_id=message_id)
        replies = await drain(redis, conv, message_id)
        handoff = await relay.tickets.active_for(conv) is not None
    except Exception:  # noqa: BLE001 - Redis away: the resident sees a plain message, never a backend error
        logger.exception("A web message could not be handled")
        return _error(503, ERR_BUSY)
    return _ok({"replies": replies, "handoff": handoff})


async def inbox(request: web.Request) -> web.Response:
    """What arrived since the last call (volunteer messages, late answers): `{"replies": [...], "handoff": bool}`."""
    settings, redis, relay = request.app[SETTINGS], request.app[REDIS], request.app[RELAY]
    if not _origin_allowed(request, settings.allowed_origins):
        return _error(403, ERR_ORIGIN)
    sender = request.query.get("sender", "")
    if not SENDER_RE.fullmatch(sender):
        return _error(400, ERR_BAD_SENDER)
    ip = client_ip(request, settings.trust_forwarded)
    if await over_limit(redis, "poll", ip, settings.rate_per_minute * POLL_RATE_FACTOR):
        return _error(429, ERR_RATE)
    conv = f"{CHANNEL}:{sender}"
    try:
        replies = await drain(redis, conv)
        handoff = await relay.tickets.active_for(conv) is not None
    except Exception:  # noqa: BLE001
        logger.exception("A web inbox could not be read")
        return _error(503, ERR_BUSY)
    return _ok({"replies": replies, "handoff": handoff})


def _static(name: str, content_type: str, page: bool = False) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    path = STATIC_DIR / name

    async def handler(request: web.Request) -> web.StreamResponse:
        max_age = request.app[SETTINGS].static_max_age_s
        headers = {"Content-Type": content_type, "Cache-Control": f"public, max-age={max_age}"}
        if page:
            headers["Content-Security-Policy"] = PAGE_CSP
            headers["Cache-Control"] = "no-cache"
        return web.FileResponse(path, headers=headers)

    return handler


async def _supervise(relay: Relay, stop: asyncio.Event) -> None:
    """Run the Relay's background work; if it dies (Redis away at start-up), start it again after a pause."""
    while not stop.is_set():
        try:
            await relay.run(stop)
        except Exception:  # noqa: BLE001
            logger.warning("The web relay's background work stopped; restarting in %ss", RELAY_RESTART_S, exc_info=True)
            try:
                await asyncio.wait_for(stop.wait(), timeout=RELAY_RESTART_S)
            except asyncio.TimeoutError:
                pass


async def _background(app: web.Application) -> AsyncIterator[None]:
    """Outbox consumer and Rasa retry loop for the app's lifetime."""
    relay = app[RELAY]
    stop = asyncio.Event()
    task = asyncio.create_task(_supervise(relay, stop))
    yield
    stop.set()
    try:
        await asyncio.wait_for(task, timeout=5)
    except asyncio.TimeoutError:
        task.cancel()
    await relay.rasa.aclose()


def create_app(settings: WebSettings, redis: Any, relay_factory: RelayFactory | None = None) -> web.Application:
    """The web gateway over an async Redis client (decode_responses=True); `relay_factory` lets tests wire the Relay."""
    deliver = make_deliver(redis)
    if relay_factory is None:
        relay = build_relay(CHANNEL, redis, settings.common.rasa_url, deliver, settings.common.rasa_timeout_s,
                            commune=settings.common.commune_id, pseudonym_key=settings.common.pseudonym_key)
    else:
        relay = relay_factory(deliver)
    # 1500 characters of Vietnamese escaped as \uXXXX is ~9 KB of JSON
    app = web.Application(client_max_size=32 * 1024, middlewares=[security_headers])
    app[SETTINGS], app[REDIS], app[RELAY] = settings, redis, relay
    app.router.add_get("/", _static("index.html", "text/html; charset=utf-8", page=True))
    app.router.add_get("/widget.js", _static("widget.js", "text/javascript; charset=utf-8"))
    app.router.add_get("/widget.css", _static("widget.css", "text/css; charset=utf-8"))
    app.router.add_get("/demo.css", _static("demo.css", "text/css; charset=utf-8"))
    app.router.add_post("/api/chat", chat)
    # no HEAD: reading the inbox empties it
    app.router.add_get("/api/inbox", inbox, allow_head=False)
    app.router.add_get("/healthz", redis_health(redis))
    app.router.add_get("/metrics", redis_metrics(relay.metrics, redis, stream_groups(CHANNEL)))
    app.cleanup_ctx.append(_background)
    return app
