"""The analytics log: entries written by the answer and walkthrough actions, masking, pseudonyms, never failing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.analytics import AnalyticsLog, QueuedAnalyticsLog
from actions.knowledge import ActionAnswer
from actions.walkthrough import ActionStartWalkthrough, ActionWalkthroughNav
from common.records import ANALYTICS_STREAM as STREAM
from common.redis import MemoryRedis

MakeTracker = Callable[..., Tracker]


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> AnalyticsLog:
    """The process-wide log, in memory for this test."""
    fresh = AnalyticsLog(MemoryRedis())
    monkeypatch.setattr(services, "get_analytics", lambda: fresh)
    return fresh


def entries(log: AnalyticsLog) -> list[dict[str, str]]:
    return [fields for _, fields in log.redis.xrange(STREAM)]


def run(action: Any, tracker: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker, {})
    return dispatcher.messages


def test_record_writes_strings_and_json_lists(log: AnalyticsLog) -> None:
    entry_id = log.record("clarify", channel="zalo", commune="vi-du", resident="abc", at=12.5,
                          question="đăng nhập", candidates=["dvc-login", "vneid-activate"], skipped=None)
    assert entry_id is not None
    (fields,) = entries(log)
    assert fields == {"kind": "clarify", "at": "12.500", "channel": "zalo", "commune": "vi-du", "resident": "abc",
                      "question": "đăng nhập", "candidates": '["dvc-login", "vneid-activate"]'}


def test_unknown_kinds_are_not_recorded(log: AnalyticsLog) -> None:
    assert log.record("rating", channel="zalo", commune="vi-du", resident="abc") is None
    assert entries(log) == []


class BrokenRedis:
    def xadd(self, *args: Any, **kwargs: Any) -> Any:
        raise redis.ConnectionError("Redis is down")


def test_a_redis_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    assert AnalyticsLog(BrokenRedis()).record("answer", channel="zalo", commune="vi-du", resident="a") is None
    assert "Could not write an analytics entry" in caplog.text


@pytest.mark.integration
def test_real_redis_trims_the_stream_approximately(real_redis: Any) -> None:
    small = AnalyticsLog(real_redis, maxlen=10)
    for i in range(300):
        small.record("answer", channel="zalo", commune="vi-du", resident=str(i), guide_id="dvc-login")
    assert 10 <= real_redis.xlen(STREAM) < 300  # approximate trimming keeps at least maxlen


# --- the action server's log: written in the background ------------------------------------------------------


@pytest.mark.integration
def test_queued_entries_reach_real_redis_in_order_with_the_same_fields(real_redis: Any) -> None:
    queued, direct = QueuedAnalyticsLog(real_redis, batch=7), AnalyticsLog(MemoryRedis())
    for i in range(50):
        for target in (queued, direct):
            target.record("clarify", channel="zalo", commune="vi-du", resident=str(i), at=100.0 + i,
                          question=f"câu {i}", candidates=["dvc-login"])
    assert queued.flush(5.0)
    written = [fields for _, fields in real_redis.xrange(STREAM)]
    assert written == entries(direct)


class SlowPipeline:
    """A pipeline whose execute waits until the test lets it go, then fails (or succeeds) as told."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner

    def xadd(self, *args: Any, **kwargs: Any) -> None:
        self.owner.seen += 1

    def execute(self) -> None:
        self.owner.release.wait(5.0)
        if self.owner.broken:
            raise redis.ConnectionError("Redis is down")


class SlowRedis:
    def __init__(self, broken: bool) -> None:
        self.release, self.broken, self.seen = __import__("threading").Event(), broken, 0

    def pipeline(self, transaction: bool = True) -> SlowPipeline:
        return SlowPipeline(self)


def test_a_failed_batch_is_counted_per_entry_and_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    errors: list[int] = []
    dead = SlowRedis(broken=True)
    dead.release.set()
    log = QueuedAnalyticsLog(dead, on_error=lambda: errors.append(1))
    for i in range(3):
        assert log.record("answer", channel="zalo", commune="vi-du", resident=str(i), guide_id="dvc-login") is None
    assert log.flush(5.0)
    assert len(errors) == 3 and dead.seen == 3
    assert "Could not write" in caplog.text


def test_a_full_queue_drops_new_entries_counted_and_keeps_the_reply_going() -> None:
    errors: list[int] = []
    stuck = SlowRedis(broken=False)
    log = QueuedAnalyticsLog(stuck, on_error=lambda: errors.append(1), max_queued=2)
    for i in range(6):  # the writer holds at most one batch while stuck; the queue two more; the rest are dropped
        log.record("answer", channel="zalo", commune="vi-du", resident=str(i), guide_id="dvc-login")
    assert not log.flush(0.2)
    assert 2 <= len(errors) <= 4
    stuck.release.set()
    assert log.flush(5.0)
    assert stuck.seen + len(errors) == 6


def test_the_action_server_writes_in_the_background_and_the_demo_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from actions import settings as config

    services.get_analytics.cache_clear()
    monkeypatch.setattr(services, "redis_client", lambda: MemoryRedis())
    for demo, kind in ((False, QueuedAnalyticsLog), (True, AnalyticsLog)):
        serving = type("Serving", (), {"demo": demo})()
        monkeypatch.setattr(config, "get_settings", lambda s=serving: type("S", (), {"serving": lambda self: s})())
        services.get_analytics.cache_clear()
        assert type(services.get_analytics()) is kind
    services.get_analytics.cache_clear()


# --- the call sites in the actions --------------------------------------------------------------------------


@pytest.fixture
def actions_ready(patched_index: Any, log: AnalyticsLog) -> Iterator[AnalyticsLog]:
    yield log


def test_an_answer_is_recorded_with_its_guide_and_a_pseudonym(actions_ready: AnalyticsLog,
                                                              make_tracker: MakeTracker) -> None:
    tracker = make_tracker("Kích hoạt VNeID thế nào?", "ask_vneid_activate",
                           [{"name": "ask_vneid_activate", "confidence": 0.92}], sender_id="zalo:987654")
    run(ActionAnswer(), tracker)
    (fields,) = entries(actions_ready)
    assert fields["kind"] == "answer" and fields["guide_id"] == "vneid-activate"
    assert fields["resident"] == services.resident_id("zalo:987654")
    assert "987654" not in json.dumps(fields)
    assert fields["commune"] == "vi-du" and fields["channel"] == "rest"
    assert "question" not in fields


def test_a_clarification_keeps_the_masked_question_and_candidates(actions_ready: AnalyticsLog,
                                                                   make_tracker: MakeTracker) -> None:
    ranking = [{"name": "ask_dvc_login", "confidence": 0.5}, {"name": "ask_vneid_activate", "confidence": 0.45}]
    run(ActionAnswer(), make_tracker("tài khoản của tôi, sđt 0912345678", "ask_dvc_login", ranking))
    (fields,) = entries(actions_ready)
    assert fields["kind"] == "clarify"
    assert "0912345678" not in fields["question"] and "[SĐT]" in fields["question"]
    assert {"dvc-login", "vneid-activate"} & set(json.loads(fields["candidates"]))


def test_a_question_with_no_guide_is_recorded_as_a_gap(actions_ready: AnalyticsLog, make_tracker: MakeTracker) -> None:
    ranking = [{"name": "other_service", "confidence": 0.9}]
    run(ActionAnswer(), make_tracker("xin visa đi Mỹ, sđt tôi 0912345678", "other_service", ranking))
    (fields,) = entries(actions_ready)
    assert fields["kind"] == "no_guide"
    assert "0912345678" not in fields["question"] and "xin visa đi Mỹ" in fields["question"]


def test_a_catalogue_answer_is_recorded_with_its_procedure(actions_ready: AnalyticsLog,
                                                           make_tracker: MakeTracker) -> None:
    ranking = [{"name": "other_service", "confidence": 0.9}]
    run(ActionAnswer(), make_tracker("khai báo tạm vắng, sđt tôi 0912345678", "other_service", ranking))
    (fields,) = entries(actions_ready)
    assert fields["kind"] == "procedure"
    assert json.loads(fields["candidates"]) == ["1.003677"]
    assert "0912345678" not in fields["question"]


def test_an_out_of_scope_question_is_recorded(actions_ready: AnalyticsLog, make_tracker: MakeTracker) -> None:
    long_question = "giá vàng hôm nay bao nhiêu " + "rất " * 200
    run(ActionAnswer(), make_tracker(long_question, "nlu_fallback", [{"name": "out_of_scope", "confidence": 0.9}]))
    (fields,) = entries(actions_ready)
    assert fields["kind"] == "out_of_scope"
    assert fields["question"].startswith("giá vàng hôm nay") and len(fields["question"]) <= 300
    assert isinstance(json.loads(fields["candidates"]), list)


def test_walkthrough_events_are_recorded(actions_ready: AnalyticsLog, make_tracker: MakeTracker) -> None:
    slots = {"has_vneid_level2": True, "has_payment_account": True, "has_e_signature": True,
             "has_smartphone_nfc": True}
    tracker = make_tracker('/start_walkthrough{"topic": "dvc-login"}', "start_walkthrough",
                           entities=[{"entity": "topic", "value": "dvc-login"}], slots=slots)
    messages = run(ActionStartWalkthrough(), tracker)
    started = messages[-1]["custom"]
    assert started["event"] == "started"
    walking = {"wt_guide": "dvc-login", "wt_step": float(started["total"]), "wt_total": float(started["total"]),
               "wt_started_at": started["started_at"] - 200, "wt_stuck": [2], "wt_resume": False}
    run(ActionWalkthroughNav(), make_tracker("/nav_stuck", "nav_stuck", slots=walking))
    run(ActionWalkthroughNav(), make_tracker("/nav_next", "nav_next", slots=walking))
    recorded = entries(actions_ready)
    assert [(f["kind"], f["event"]) for f in recorded] == [
        ("walkthrough", "started"), ("walkthrough", "stuck"), ("walkthrough", "finished")]
    first, _, finished = recorded
    assert first["guide_id"] == "dvc-login" and first["step"] == "1" and first["total"] == str(started["total"])
    assert first["started_at"] == str(started["started_at"])
    assert 199 <= float(finished["duration_s"]) <= 260
    assert finished["step"] == str(started["total"])


def test_a_broken_log_does_not_break_the_walkthrough(monkeypatch: pytest.MonkeyPatch, patched_index: Any,
                                                     make_tracker: MakeTracker) -> None:
    monkeypatch.setattr(services, "get_analytics", lambda: AnalyticsLog(BrokenRedis()))
    slots = {"has_vneid_level2": True, "has_payment_account": True}
    tracker = make_tracker('/start_walkthrough{"topic": "dvc-login"}', "start_walkthrough",
                           entities=[{"entity": "topic", "value": "dvc-login"}], slots=slots)
    messages = run(ActionStartWalkthrough(), tracker)
    assert messages[-1]["custom"]["event"] == "started"


def test_an_out_of_scope_intent_is_answered_and_logged_as_a_knowledge_gap(log: AnalyticsLog,
                                                                          make_tracker: MakeTracker) -> None:
    from actions.safety import ActionOutOfScope

    tracker = make_tracker("cho hỏi giá vàng hôm nay, sđt 0912345678", "out_of_scope")
    tracker.events = [{"event": "user", "text": "cho hỏi giá vàng hôm nay, sđt 0912345678"}]
    (message,) = run(ActionOutOfScope(), tracker)
    assert message["response"] == "utter_out_of_scope"
    (fields,) = entries(log)
    assert fields["kind"] == "out_of_scope" and "giá vàng" in fields["question"]
    assert "0912345678" not in fields["question"]
