"""Reading the conversation and sending replies: helpers every action uses, depending only on rasa_sdk."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def resident_text(tracker: Tracker) -> str:
    """What the resident wrote (PII already masked by the channel), not the NLU's folded matching form.

    Rasa's latest_message['text'] is the normaliser's output ("toi khong nhan duoc ma otp"); retrieval needs the
    original with its diacritics, which the latest user event keeps.
    """
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            text = event.get("text")
            return text if isinstance(text, str) else ""
    return (tracker.latest_message or {}).get("text") or ""


def last_bot_custom(tracker: Tracker) -> dict[str, Any]:
    """`custom` of the assistant's latest message before the resident's current one ({} if none)."""
    past_latest_user = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            if past_latest_user:
                return {}
            past_latest_user = True
        elif event.get("event") == "bot" and past_latest_user:
            custom = (event.get("data") or {}).get("custom") or {}
            return custom if isinstance(custom, dict) else {}
    return {}


def send(dispatcher: CollectingDispatcher, message: dict[str, Any]) -> None:
    """Send a reply built by actions.replies."""
    dispatcher.utter_message(text=message["text"], buttons=message.get("buttons") or [],
                             json_message=message["custom"])


def entities_of(tracker: Tracker) -> dict[str, Any]:
    """The latest message's entities by name (a button payload's `{"topic": …}` and the like)."""
    return {e.get("entity"): e.get("value") for e in (tracker.latest_message or {}).get("entities", [])}


def intent_of(tracker: Tracker) -> str | None:
    """The intent the classifier gave the resident's latest message."""
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")
