"""The resident-facing REST channel: `POST /webhooks/rest/webhook`, one JSON object per bot reply.

Differs from Rasa's built-in REST channel in three ways that channels and evaluation rely on:
- personal data (CCCD, phone numbers, OTPs) is masked before the message reaches Rasa, so it is never logged
  or stored in the tracker;
- every bot reply is one object `{"recipient_id", "text", "buttons"?, "custom": {...metadata}}` instead of
  Rasa's split of text, buttons and custom payload into separate objects;
- a failure inside Rasa returns a short Vietnamese "busy" reply with HTTP 500 instead of an empty list.
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.text import mask_pii, nfc, shares_secret

logger = logging.getLogger(__name__)

BUSY_TEXT = "Hệ thống đang bận, bạn vui lòng thử lại sau ít phút nhé."
SECRET_WARNING = (
    "⚠️ Bạn đừng gửi mã OTP, mật khẩu hay passcode cho bất kỳ ai, kể cả trợ lý này và cán bộ. "
    "Mình đã che mã đó đi, không lưu lại."
)
# Longer messages are cut before they reach Rasa; the NLU guard still sees the original length.
MAX_STORED_CHARS = 4000


class ReplyCollector(CollectingOutputChannel):
    """Collects each bot utterance as a single object with its metadata."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"recipient_id": recipient_id, "text": message.get("text") or ""}
        for key in ("buttons", "quick_replies", "image", "attachment", "elements"):
            if message.get(key):
                reply[key] = message[key]
        custom = message.get("custom") or message.get("json_message")
        reply["custom"] = dict(custom) if isinstance(custom, dict) else {}
        self.messages.append(reply)


def prepare_text(raw: Any) -> tuple[str, dict[str, Any]]:
    """Clean and mask an incoming message; return the text for Rasa and metadata about what was done."""
    info: dict[str, Any] = {}
    if not isinstance(raw, str):
        info["input_problem"] = "non_text"
        return "", info
    text = nfc(raw)
    if shares_secret(text):
        info["shared_secret"] = True
    masked = mask_pii(text)  # before cutting, so a cut can never leave half a number unmasked
    if masked != text:
        info["pii_masked"] = True
    if len(masked) > MAX_STORED_CHARS:
        info["input_problem"] = "too_long"
        masked = masked[:MAX_STORED_CHARS]
    return masked, info


class ResidentRestInput(InputChannel):
    """REST input channel that masks personal data and returns one object per reply."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("resident_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender_id = body.get("sender")
            if not isinstance(sender_id, str) or not sender_id.strip() or len(sender_id) > 200:
                return response.json({"error": "'sender' must be a non-empty string"}, status=400)
            text, info = prepare_text(body.get("message"))
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            metadata = {**metadata, **info}
            input_channel = body.get("input_channel") if isinstance(body.get("input_channel"), str) else "rest"
            collector = ReplyCollector()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender_id, input_channel=input_channel, metadata=metadata)
                )
            except CancelledError:
                logger.error("Rasa timed out on a message from %s", sender_id)
                return response.json(_busy(sender_id), status=503)
            except Exception:  # noqa: BLE001 - any failure must still answer the resident
                logger.exception("Rasa failed on a message from %s", sender_id)
                return response.json(_busy(sender_id), status=500)
            replies = collector.messages
            if info.get("shared_secret"):
                # whatever the dialogue answered, a resident who sent a code is told never to share it
                replies.append({"recipient_id": sender_id, "text": SECRET_WARNING, "custom": {"kind": "warning"}})
            return response.json(replies)

        return webhook


def _busy(sender_id: str) -> list[dict[str, Any]]:
    return [{"recipient_id": sender_id, "text": BUSY_TEXT, "custom": {"kind": "error"}}]


