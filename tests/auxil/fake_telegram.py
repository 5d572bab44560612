"""A fake Telegram Bot API on 127.0.0.1: the real python-telegram-bot client talks to it through `base_url`.

It answers the methods the gateway uses with the shapes Telegram returns, records every call, and builds incoming
updates (team-group messages, button presses, private chats) the way python-telegram-bot's own tests/auxil does.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT = {"id": 900000001, "is_bot": True, "first_name": "Trợ lý DVC", "username": "troly_dvc_bot",
       "can_join_groups": True, "can_read_all_group_messages": True, "supports_inline_queries": False}
TOKEN = "123456:TEST-not-a-real-token"


class FakeTelegram:
    """Records calls in `calls` as (method, params); `chats` and `members` describe the world."""

    def __init__(self, team_chat_id: int = -1001234567890, forum: bool = True) -> None:
        self.team_chat_id = team_chat_id
        self.chats: dict[int, dict[str, Any]] = {
            team_chat_id: {"id": team_chat_id, "type": "supergroup", "title": "Tổ công nghệ số", "is_forum": forum}}
        self.members: dict[int, str] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(100)
        self._threads = itertools.count(500)
        self._update_ids = itertools.count(1)
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._method)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def __aenter__(self) -> FakeTelegram:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == method and (chat_id is None or int(p["chat_id"]) == chat_id)]

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = {k: _maybe_json(v) for k, v in (await request.post()).items()}
        self.calls.append((method, params))
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": f"Not Found: {method}"},
                                     status=404)
        return web.json_response({"ok": True, "result": handler(params)})

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        chat_id = int(chat_id)
        return self.chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "Dân"})

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        message = {"message_id": next(self._ids), "date": int(time.time()), "chat": _short(self._chat(params["chat_id"])),
                   "from": BOT, "text": params.get("text", "")}
        if params.get("message_thread_id"):
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT

    def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params)

    def _editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self._message(params), "message_id": int(params["message_id"])}

    def _answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    def _editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self._message({**params, "reply_markup": params.get("reply_markup")}),
                "message_id": int(params["message_id"])}

    def _createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"message_thread_id": next(self._threads), "name": params["name"], "icon_color": 7322096}

    def _closeForumTopic(self, params: dict[str, Any]) -> bool:
        return True

    def _getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self._chat(params["chat_id"]), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                                        "premium_subscription": False, "gifts_from_channels": False}}

    def _getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = int(params["user_id"])
        status = self.members.get(user_id, "left")
        extra: dict[str, Any] = {}
        if status == "administrator":
            extra = {k: False for k in ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                                        "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                                        "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                                        "can_delete_stories")}
        elif status == "kicked":
            extra = {"until_date": 0}
        return {"status": status, "user": {"id": user_id, "is_bot": False, "first_name": "TNV"}, **extra}

    def _setWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _getUpdates(self, params: dict[str, Any]) -> list[Any]:
        return []

    # --- incoming updates -------------------------------------------------------------------------------------

    def group_text(self, user_id: int, name: str, text: str, thread: int | None = None,
                   reply_to: int | None = None) -> dict[str, Any]:
        """A volunteer's message in the team group (in a forum topic, or as a reply to a ticket message)."""
        message: dict[str, Any] = {
            "message_id": next(self._ids), "date": int(time.time()), "text": text,
            "chat": _short(self.chats[self.team_chat_id]),
            "from": {"id": user_id, "is_bot": False, "first_name": name}}
        if thread:
            message.update(message_thread_id=thread, is_topic_message=True)
        if reply_to:
            message["reply_to_message"] = {"message_id": reply_to, "date": int(time.time()), "from": BOT,
                                           "chat": _short(self.chats[self.team_chat_id]), "text": "…"}
        return {"update_id": next(self._update_ids), "message": message}

    def command(self, user_id: int, name: str, command: str, chat_id: int | None = None) -> dict[str, Any]:
        chat = _short(self._chat(chat_id if chat_id is not None else self.team_chat_id))
        return {"update_id": next(self._update_ids), "message": {
            "message_id": next(self._ids), "date": int(time.time()), "text": command, "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": name},
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command.split()[0])}]}}

    def button(self, user_id: int, name: str, data: str, message_id: int, chat_id: int | None = None) -> dict[str, Any]:
        chat = _short(self._chat(chat_id if chat_id is not None else self.team_chat_id))
        return {"update_id": next(self._update_ids), "callback_query": {
            "id": str(next(self._ids)), "chat_instance": "ci", "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": name},
            "message": {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": BOT, "text": "…"}}}

    def private_text(self, user_id: int, text: str) -> dict[str, Any]:
        chat = {"id": user_id, "type": "private", "first_name": "Dân"}
        return {"update_id": next(self._update_ids), "message": {
            "message_id": next(self._ids), "date": int(time.time()), "text": text, "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": "Dân"}}}

    def private_photo(self, user_id: int) -> dict[str, Any]:
        chat = {"id": user_id, "type": "private", "first_name": "Dân"}
        return {"update_id": next(self._update_ids), "message": {
            "message_id": next(self._ids), "date": int(time.time()), "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": "Dân"},
            "photo": [{"file_id": "f1", "file_unique_id": "u1", "width": 90, "height": 90}]}}


def _short(chat: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in chat.items() if k in ("id", "type", "title", "first_name", "is_forum")}


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
