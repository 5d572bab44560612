"""Reading the conversation: the resident's own words, and what the assistant said just before."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.tracking import last_bot_custom, resident_text


def tracker(events: list[dict[str, Any]], latest_text: str = "") -> Tracker:
    return Tracker("r-1", {}, {"text": latest_text}, events, False, None, {}, "action_listen")


def bot(kind: str, **custom: Any) -> dict[str, Any]:
    return {"event": "bot", "text": "…", "data": {"custom": {"kind": kind, **custom}}}


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text}


def test_the_bot_message_before_the_current_one() -> None:
    t = tracker([user("tôi muốn góp ý"), bot("feedback_invite"), user("trang web chậm quá")])
    assert last_bot_custom(t) == {"kind": "feedback_invite"}


def test_an_older_bot_message_does_not_count() -> None:
    t = tracker([bot("feedback_invite"), user("a"), user("b")])
    assert last_bot_custom(t) == {}
    assert last_bot_custom(tracker([])) == {}


def test_resident_text_keeps_diacritics_over_the_normalised_form() -> None:
    assert resident_text(tracker([user("Không nhận được mã OTP")], "khong nhan duoc ma otp")) == "Không nhận được mã OTP"
    assert resident_text(tracker([], "fallback")) == "fallback"
