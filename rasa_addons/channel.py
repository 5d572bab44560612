"""The resident-facing REST channel: `POST /webhooks/rest/webhook`, one JSON object per bot reply.

Differs from Rasa's built-in REST channel in ways that channels and evaluation rely on:
- text is cleaned (lone surrogates, control and bidi characters dropped) and personal data (CCCD, phone, OTP, card
  and bank account numbers) masked before the message reaches Rasa, so it is never logged or stored in the tracker;
- every bot reply is one object `{"recipient_id", "text", "buttons"?, "custom": {...metadata}}` instead of
  Rasa's split of text, buttons and custom payload into separate objects;
- residents cannot trigger system events: a typed `/handoff_closed`, `/restart` or `/session_start` is refused with
  a short reply; a gateway sends such an event in the separate `system_event` field, which no resident text reaches;
- `message_id` (optional): the gateway's id for the message. Sent again (a retry), it is not run again; the replies
  it got are sent again (rasa_addons/reliability.py);
- a failure inside Rasa returns a short Vietnamese "busy" reply with HTTP 503 (conversation store or action server
  unreachable: the gateway keeps the message and retries) or 500 instead of an empty list, and a turn that produced
  no reply gets a short one: every message is answered.
"""

from __future__ import annotations

import logging
import re
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.lock_store import LockError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from common.messages import say
from common.text import clean, mask_pii, nfc, normalise, shares_secret
from rasa_addons.reliability import ActionServerUnavailable, TrackerStoreUnavailable

logger = logging.getLogger(__name__)

# the words are in messages/vi.yml (with every other reply the code composes)
BUSY_TEXT = say("channel.busy")
SECRET_WARNING = say("channel.secret_warning")
NO_REPLY_TEXT = say("channel.no_reply")
COMMAND_REFUSED_TEXT = say("channel.command_refused")
MENU_BUTTONS = [
    {"title": say("button.services"), "payload": "/nav_menu"},
    {"title": say("button.human"), "payload": "/request_human"},
]
# Longer messages are cut before they reach Rasa; the NLU guard still sees the original length.
MAX_STORED_CHARS = 4000
MAX_MESSAGE_ID_CHARS = 128
# Intents only the system may trigger: a gateway sends them as `system_event`, never as resident text.
SYSTEM_EVENTS = frozenset({"handoff_closed"})
REFUSED_COMMANDS = frozenset({"handoff_closed", "restart", "session_start", "back"})
# Failures the gateway should retry (503); anything else is a 500.
RETRYABLE = (TrackerStoreUnavailable, ActionServerUnavailable, LockError, CancelledError)


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
    text = nfc(clean(raw))
    if shares_secret(text):
        info["shared_secret"] = True
    masked = mask_pii(text)  # before cutting, so a cut can never leave half a number unmasked
    if masked != text:
        info["pii_masked"] = True
    if len(masked) > MAX_STORED_CHARS:
        info["input_problem"] = "too_long"
        masked = masked[:MAX_STORED_CHARS]
    return masked, info


_MASK_TAG = re.compile(r"\[[^\]]{1,12}\]")
_CODE_WORDS = re.compile(r"\b(ma|otp|so|la|day|do|nay|cua|toi|em|anh|chi|minh|ban|ok|nhe|nha|a|ah|da|vang|gui|"
                         r"passcode|mat khau|pin|xac thuc|xac nhan)\b")


def only_a_code(masked: str) -> bool:
    """Whether a masked message holds nothing but the code(s) it shared ("mã OTP là [OTP]")."""
    return not _CODE_WORDS.sub(" ", normalise(_MASK_TAG.sub(" ", masked))).split()


def command_of(text: str) -> str:
    """The intent name of a slash command (`/rate{"rating": …}` → `rate`), or "" for ordinary text."""
    if not text.startswith("/"):
        return ""
    name = text[1:]
    for stop in ("{", "@", " "):
        name = name.split(stop, 1)[0]
    return name.strip()


def message_id_of(body: dict[str, Any]) -> str | None:
    """The gateway's message id, when it sent a usable one."""
    value = body.get("message_id")
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = clean(str(value)).strip()
        if 0 < len(value) <= MAX_MESSAGE_ID_CHARS:
            return value
    return None


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
            sender_id = clean(sender_id) if isinstance(sender_id, str) else None
            if not sender_id or not sender_id.strip() or len(sender_id) > 200:
                return response.json({"error": "'sender' must be a non-empty string"}, status=400)
            system_event = body.get("system_event")
            if system_event is not None:
                if not isinstance(system_event, str) or system_event not in SYSTEM_EVENTS:
                    return response.json({"error": "unknown system_event"}, status=400)
                text, info = f"/{system_event}", {}
            else:
                text, info = prepare_text(body.get("message"))
                if command_of(text) in REFUSED_COMMANDS:
                    # a resident typed a system command: answer, do not run it
                    return response.json([_reply(sender_id, COMMAND_REFUSED_TEXT, "bad_input", MENU_BUTTONS,
                                                 problem="command")])
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            metadata = {**metadata, **info}
            message_id = message_id_of(body)
            if message_id:
                metadata["client_message_id"] = True
            input_channel = body.get("input_channel") if isinstance(body.get("input_channel"), str) else "rest"
            collector = ReplyCollector()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender_id, input_channel=clean(input_channel), metadata=metadata,
                                message_id=message_id)
                )
            except RETRYABLE as error:
                logger.error("Message from %s not handled now (%s); the gateway will retry",
                             mask_pii(sender_id), error.__class__.__name__)
                return response.json(_busy(sender_id), status=503)
            except Exception:  # noqa: BLE001 - any failure must still answer the resident
                logger.exception("Rasa failed on a message from %s", mask_pii(sender_id))
                return response.json(_busy(sender_id), status=500)
            replies = collector.messages
            # a held message reaches Rasa masked: the gateway says in metadata that it held a code
            secret = bool(info.get("shared_secret") or metadata.get("shared_secret") is True)
            if not replies and not secret:
                replies.append(_reply(sender_id, NO_REPLY_TEXT, "no_reply", MENU_BUTTONS[1:]))
            if secret:
                # whatever the dialogue answered, a resident who sent a code is told never to share it; a message
                # that was only the code gets only that (not also "I did not understand")
                if only_a_code(text):
                    replies = []
                replies.append({"recipient_id": sender_id, "text": SECRET_WARNING, "custom": {"kind": "warning"}})
            return response.json(replies)

        return webhook


def _reply(sender_id: str, text: str, kind: str, buttons: list[dict[str, str]] | None = None,
           **custom: Any) -> dict[str, Any]:
    reply: dict[str, Any] = {"recipient_id": sender_id, "text": text}
    if buttons:
        reply["buttons"] = buttons
    reply["custom"] = {"kind": kind, **custom}
    return reply


def _busy(sender_id: str) -> list[dict[str, Any]]:
    return [_reply(sender_id, BUSY_TEXT, "error")]


