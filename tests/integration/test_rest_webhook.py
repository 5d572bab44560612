"""Residents talk to the real assistant through Rasa's REST webhook, with the tracker held in real Redis."""

from __future__ import annotations

import json

import pytest
import redis

from tests.integration.conftest import Resident

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("message", "guide"),
    [
        ("toi ko nhan dc ma otp vneid", "vneid-troubleshoot"),
        # activation and troubleshooting both have a "Không nhận được mã OTP" part, for this very moment: either
        # answers it (the blind set accepts both), and a question asking which would cost a tap for nothing
        ("Tôi không nhận được mã OTP khi kích hoạt VNeID", "vneid-activate|vneid-troubleshoot#Không nhận được mã OTP"),
        ("đóng lệ phí rồi mà hồ sơ vẫn báo chưa thanh toán", "payment-troubleshoot"),
        ("lam giay khai sinh cho con online the nao", "birth-registration"),
        ("xin phiếu lý lịch tư pháp trên vneid", "judicial-record"),
    ],
)
def test_question_gets_answer_from_the_right_guide_with_source(resident: Resident, message: str, guide: str) -> None:
    first = resident.say(message)[0]
    guides, _, section = guide.partition("#")
    assert first["custom"]["kind"] == "answer"
    assert first["custom"]["guide_id"] in guides.split("|")
    if section:
        assert first["custom"]["section"] == section
    # the page that holds the part shown (a few provincial pages are http only)
    assert first["custom"]["source_url"].startswith(("https://", "http://"))
    assert f"Nguồn: {first['custom']['source_url']} (cập nhật" in first["text"]
    assert len(first["text"]) < 2000
    assert any(b["payload"] == "/request_human" for b in first["buttons"])


def test_unsure_question_offers_topics_as_buttons_and_a_tap_answers(resident: Resident) -> None:
    first = resident.say("giấy tờ")[0]
    assert first["custom"]["kind"] == "clarify"
    candidates = first["custom"]["candidates"]
    assert 1 <= len(candidates) <= 3
    chosen = next(b for b in first["buttons"] if "choose_topic" in b["payload"])
    answer = resident.say(chosen["payload"])[0]
    assert answer["custom"]["kind"] == "answer"
    assert answer["custom"]["guide_id"] == candidates[0]


@pytest.mark.parametrize("message", ["cách nấu phở bò ngon", "tỷ giá đô la hôm nay bao nhiêu", "ban co nguoi yeu chua"])
def test_out_of_scope_gets_no_guide_answer(resident: Resident, message: str) -> None:
    first = resident.say(message)[0]
    assert first["custom"]["kind"] == "out_of_scope"
    assert "guide_id" not in first["custom"]


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\u200b\u200b\u200d", "empty"),
        ("😀😀🙏", "no_text"),
        ("!!! ???", "no_text"),
        ("xin hỏi " * 2000, "too_long"),
        (None, "non_text"),
        ({"image": "https://example.invalid/a.jpg"}, "non_text"),
    ],
)
def test_unreadable_input_gets_a_short_clear_reply(resident: Resident, message: object, problem: str) -> None:
    replies = resident.say(message)
    assert len(replies) == 1
    assert replies[0]["custom"] == {"kind": "bad_input", "problem": problem}
    assert 10 < len(replies[0]["text"]) < 200


def test_html_is_never_echoed(resident: Resident) -> None:
    replies = resident.say("<script>alert('x')</script>")
    assert all("<script" not in r["text"] for r in replies)


def test_person_and_feedback_requests_are_marked_for_channels(resident: Resident, redis_db: redis.Redis) -> None:
    assert resident.say("cho tôi nói chuyện với người thật")[0]["custom"]["kind"] == "handoff"
    feedback = resident.say("tôi muốn góp ý về thái độ cán bộ xã, sđt tôi 0912345678")[0]["custom"]
    assert feedback["kind"] == "feedback" and feedback["stored"] is True
    # the feedback log in Redis: the entry carries a pseudonym, the comment is masked
    entry = dict(redis_db.xrange("feedback:v1", min=feedback["id"], max=feedback["id"])[0][1])
    assert entry["kind"] == "comment" and resident.sender not in entry["resident"]
    assert redis_db.get(f"feedback:comment:{feedback['id']}") == "tôi muốn góp ý về thái độ cán bộ xã, sđt tôi [SĐT]"


def test_secrets_are_masked_in_redis_and_the_resident_is_warned(resident: Resident, redis_db: redis.Redis) -> None:
    replies = resident.say("CCCD 001203004567, sđt 0912 345 678, mã OTP 482913 để kích hoạt vneid")
    assert replies[-1]["custom"]["kind"] == "warning"
    assert "OTP" in replies[-1]["text"] and "đừng" in replies[-1]["text"].lower()
    stored = redis_db.lrange(f"tracker:{resident.sender}:events", 0, -1)
    assert stored, "the tracker must be in Redis"
    raw = "\n".join(stored)
    for secret in ("001203004567", "0912 345 678", "482913"):
        assert secret not in raw


def test_conversation_is_kept_in_redis_across_turns(resident: Resident, redis_db: redis.Redis) -> None:
    resident.say("xin chào")
    first_len = redis_db.llen(f"tracker:{resident.sender}:events")
    resident.say("đăng ký thường trú online thế nào")
    resident.say("cảm ơn nhé")
    events = [json.loads(e) for e in redis_db.lrange(f"tracker:{resident.sender}:events", 0, -1)]
    assert len(events) > first_len
    assert [e["text"] for e in events if e["event"] == "user"] == ["xin chào", "đăng ký thường trú online thế nào",
                                                                     "cảm ơn nhé"]
    assert json.loads(redis_db.get(f"tracker:{resident.sender}:slots"))["topic"] == "residence-registration"
