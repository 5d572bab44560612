"""A fake Zalo Official Account API (v3 messages + v4 OAuth) on 127.0.0.1, and signed webhook events.

Tokens behave like Zalo's: an access token can be declared expired (error -216), and a refresh token works once
(Zalo rotates it on every refresh).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.zalo.oa import signature

APP_ID = "1234567890123456789"
OA_SECRET = "oa-secret-TEST"
APP_SECRET = "app-secret-TEST"


# msg_id → user id of every event built by `event()`: the fake OA knows which resident wrote which message, as Zalo does
SENT_BY: dict[str, str] = {}
FREE_REPLIES = 8  # per resident message, within 48 h (Zalo OA's "tin phản hồi")


class FakeZaloOA:
    """`messages` holds (user_id, message) for every accepted send and `kinds` how Zalo counted each one: "reply"
    (recipient.message_id of a resident's message, one of its 8 free replies) or "proactive" (a user_id alone, or
    the 9th reply: a paid message). `fail_next` answers HTTP 500 that many times."""

    def __init__(self, access_token: str = "access-1", refresh_token: str = "refresh-1") -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.kinds: list[str] = []
        self.replies_to: dict[str, int] = {}
        self.refreshes = 0
        self.fail_next = 0
        self.refused_users: set[str] = set()
        self._ids = itertools.count(1)
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self._send)
        app.router.add_post("/v4/oa/access_token", self._refresh)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def __aenter__(self) -> FakeZaloOA:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    def texts(self, user_id: str | None = None) -> list[str]:
        return [m.get("text", "") for u, m in self.messages if user_id is None or u == user_id]

    def expire_token(self) -> None:
        self.access_token = f"access-{next(self._ids) + 100}"

    async def _send(self, request: web.Request) -> web.Response:
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500, text="upstream error")
        if request.headers.get("access_token") != self.access_token:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        body = await request.json()
        recipient = body["recipient"]
        if "message_id" in recipient:
            user_id = SENT_BY.get(str(recipient["message_id"]), "")
            if not user_id:
                return web.json_response({"error": -201, "message": "message_id is invalid"})
        else:
            user_id = recipient["user_id"]
        if user_id in self.refused_users:
            return web.json_response({"error": -213, "message": "User has not interacted with the OA recently"})
        self.messages.append((user_id, body["message"]))
        data: dict[str, Any] = {"message_id": f"m{len(self.messages)}", "user_id": user_id}
        used = self.replies_to.get(str(recipient.get("message_id")), 0) + 1 if "message_id" in recipient else 0
        if used and used <= FREE_REPLIES:
            self.replies_to[str(recipient["message_id"])] = used
            self.kinds.append("reply")
            data["quota"] = {"quota_type": "reply", "remain": str(FREE_REPLIES - used), "total": str(FREE_REPLIES)}
        else:
            self.kinds.append("proactive")  # no quota in the answer: a paid message
        return web.json_response({"error": 0, "message": "Success", "data": data})

    async def _refresh(self, request: web.Request) -> web.Response:
        form = await request.post()
        if request.headers.get("secret_key") != APP_SECRET or form.get("app_id") != APP_ID:
            return web.json_response({"error": -14014, "error_name": "Invalid secret key"})
        if form.get("refresh_token") != self.refresh_token or form.get("grant_type") != "refresh_token":
            return web.json_response({"error": -14020, "error_name": "Invalid refresh token"})
        self.refreshes += 1
        self.access_token = f"access-new-{self.refreshes}"
        self.refresh_token = f"refresh-new-{self.refreshes}"
        return web.json_response({"access_token": self.access_token, "refresh_token": self.refresh_token,
                                  "expires_in": "90000"})


_msg_ids = itertools.count(1)


def event(user_id: str, text: str | None = None, name: str = "user_send_text", msg_id: str | None = None,
          secret: str = OA_SECRET, sent_at: float | None = None,
          with_msg_id: bool = True) -> tuple[bytes, dict[str, str]]:
    """A webhook body as Zalo sends it, and its headers (signed with `secret`); `sent_at` in seconds (default now)."""
    ts = str(int((time.time() if sent_at is None else sent_at) * 1000))
    message: dict[str, Any] = {"msg_id": msg_id or f"msg-{next(_msg_ids)}-{ts}"} if with_msg_id else {}
    if with_msg_id:
        SENT_BY[message["msg_id"]] = user_id
    if text is not None:
        message["text"] = text
    if name == "user_send_image":
        message["attachments"] = [{"type": "image", "payload": {"url": "https://example.invalid/a.jpg"}}]
    data = {"app_id": APP_ID, "user_id_by_app": "app-" + user_id, "event_name": name, "sender": {"id": user_id},
            "recipient": {"id": "oa-1"}, "message": message, "timestamp": ts}
    try:
        body = json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate can only travel as a JSON escape
        body = json.dumps(data).encode()
    return body, {"X-ZEvent-Signature": signature(APP_ID, body, ts, secret), "Content-Type": "application/json"}
