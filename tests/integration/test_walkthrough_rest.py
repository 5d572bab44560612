"""Residents walk through procedures step by step over the REST webhook, with the tracker in real Redis."""

from __future__ import annotations

import json
import time

import pytest
import redis

from tests.integration.conftest import Resident

pytestmark = pytest.mark.integration


def walk(replies: list[dict]) -> dict:
    """The walkthrough payload of the last reply."""
    return replies[-1]["custom"]


def test_full_walkthrough_from_request_to_finish(resident: Resident, redis_db: redis.Redis) -> None:
    first = resident.say("hướng dẫn tôi từng bước đăng nhập dịch vụ công")[0]
    assert first["custom"] == {"kind": "readiness", "guide_id": "dvc-login", "need": "vneid-level2"}
    assert [b["payload"] for b in first["buttons"]] == ["/affirm", "/deny"]

    step = walk(resident.say("có rồi"))
    assert (step["event"], step["step"]) == ("started", 1)
    total = step["total"]
    for expected in range(2, total + 1):
        replies = resident.say("tiếp")
        assert f"Bước {expected}/{total}" in replies[-1]["text"]
        assert [b["title"] for b in replies[-1]["buttons"]] == [
            "Tiếp", "Quay lại", "Nhắc lại", "Tôi bị kẹt", "Xong rồi", "Menu"]
        assert all(len(r["text"]) < 2000 for r in replies)
    finished = resident.say("xong rồi")
    done = finished[0]["custom"]
    assert done["event"] == "finished" and done["ask_feedback"] is True
    assert done["duration_s"] >= 0 and done["guide_id"] == "dvc-login"
    # the satisfaction question follows; a tap is stored with the walkthrough it rates
    assert finished[-1]["custom"]["kind"] == "rating_question"
    thanks = resident.say('/rate{"rating": "hai_long"}')[0]["custom"]
    assert thanks["kind"] == "feedback" and thanks["stored"] is True
    entry = dict(redis_db.xrange("feedback:v1", min=thanks["id"], max=thanks["id"])[0][1])
    assert (entry["kind"], entry["rating"]) == ("rating", "hai_long")
    assert json.loads(entry["walkthrough"])["guide_id"] == "dvc-login"
    # finished: navigation words no longer move a walkthrough
    assert walk(resident.say("tiếp"))["kind"] == "menu"


def test_stuck_opens_troubleshooting_then_a_volunteer(resident: Resident) -> None:
    resident.say('/start_walkthrough{"topic": "vneid-activate"}')
    resident.say("tiếp")
    resident.say("tiếp")
    stuck = resident.say("tôi bị kẹt")[-1]
    assert stuck["custom"]["event"] == "stuck" and stuck["custom"]["stuck_steps"] == [3]
    assert stuck["custom"]["help"]
    assert "/request_human" in [b["payload"] for b in stuck["buttons"]]
    handoff = resident.say("/request_human")[0]
    assert handoff["custom"]["kind"] == "handoff"


def test_question_mid_walkthrough_then_continue_where_they_were(resident: Resident) -> None:
    total = walk(resident.say('/start_walkthrough{"topic": "certified-copy"}'))["total"]
    resident.say("tiếp")
    answer = resident.say("chứng thực bản sao mất bao nhiêu tiền")[0]
    assert answer["custom"]["kind"] in {"answer", "clarify"}
    assert answer["buttons"][0] == {"title": f"Tiếp tục Bước 2/{total}", "payload": "/nav_repeat"}
    back = walk(resident.say("tiếp tục"))
    assert back["step"] == 2  # the step they were on, not the next one


def test_resume_after_the_session_expired(resident: Resident, redis_db: redis.Redis) -> None:
    resident.say('/start_walkthrough{"topic": "vneid-activate"}')
    for _ in range(3):
        resident.say("tiếp")
    key = f"tracker:{resident.sender}:events"
    yesterday = time.time() - 26 * 3600
    for i, raw in enumerate(redis_db.lrange(key, 0, -1)):
        event = json.loads(raw)
        event["timestamp"] = yesterday + i * 0.001
        redis_db.lset(key, i, json.dumps(event, ensure_ascii=False))

    replies = resident.say("tiếp tục")
    offer = next(r for r in replies if r["custom"].get("event") == "resume_offered")
    assert offer["custom"]["step"] == 4
    assert "Bước 4" in offer["text"]
    assert walk(replies)["step"] == 4  # "tiếp tục" shows step 4 again
    assert walk(resident.say("tiếp"))["step"] == 5


def test_restart_and_switching_procedure(resident: Resident) -> None:
    resident.say('/start_walkthrough{"topic": "vneid-activate"}')
    resident.say("tiếp")
    assert walk(resident.say("làm lại từ đầu"))["step"] == 1
    switched = resident.say('/start_walkthrough{"topic": "certified-copy"}')
    assert switched[0]["custom"]["event"] == "abandoned"
    assert walk(switched)["guide_id"] == "certified-copy" and walk(switched)["step"] == 1
