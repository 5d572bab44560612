"""tools/calibrate.py replays the action server's decision: the same path for feedback and requests for a person."""

from __future__ import annotations

from typing import Any

import pytest

from actions.knowledge import Signals
from tools import calibrate


def intent(name: str, confidence: float) -> dict[str, Any]:
    return {"name": name, "confidence": confidence}


@pytest.mark.parametrize(("text", "ranking", "answering", "names"), [
    # a question the classifier reads as feedback: action_feedback hands it over, give_feedback left out
    ("Hẹn trả từ tuần trước mà chưa có, tôi khiếu nại ở đâu?",
     [intent("give_feedback", 0.6), intent("ask_dvc_track", 0.3), intent("sensitive", 0.1)], True,
     {"ask_dvc_track": 0.75, "sensitive": 0.25}),
    # a statement stays feedback and never reaches a guide
    ("Đề nghị xã làm việc thêm sáng thứ Bảy.", [intent("give_feedback", 0.6), intent("ask_dvc_track", 0.3)], False,
     None),
    # a walkthrough request decides among topics only
    ("hướng dẫn từng bước làm khai sinh", [intent("start_walkthrough", 0.7), intent("ask_birth_registration", 0.3)],
     True, {"ask_birth_registration": 1.0}),
    ("khai sinh cho con", [intent("ask_birth_registration", 0.9)], True, {"ask_birth_registration": 0.9}),
])
def test_the_ranking_action_answer_decides_on(text: str, ranking: list[dict[str, Any]], answering: bool,
                                              names: dict[str, float] | None) -> None:
    reaches, prepared = calibrate.prepared_ranking(ranking, text)
    assert reaches is answering
    if names is not None:
        assert {r["name"]: round(r["confidence"], 3) for r in prepared} == names


def test_a_feedback_or_handoff_decision_is_replayed() -> None:
    sig = Signals({"certified-copy": 0.5}, {"certified-copy": 30.0}, None, True, "give_feedback", 0.3,
                  {"feedback": 0.3}, asks=False)
    fused = calibrate.fuse(calibrate.Line({"guide": "feedback"}, True, sig), calibrate.FusionWeights())
    assert calibrate.outcome(fused, 0.5, 0.0)[0] == "feedback"
    asking = calibrate.fuse(calibrate.Line({"guide": "certified-copy"}, True, Signals(
        {"certified-copy": 0.5}, {"certified-copy": 30.0}, None, True, "give_feedback", 0.3, {"feedback": 0.3})),
        calibrate.FusionWeights())
    assert calibrate.outcome(asking, 0.5, 0.0)[0] != "feedback"


def test_a_sensitive_request_is_replayed_as_the_refusal_route_gives() -> None:
    # a guide's words with a clear classifier vote: route() refuses before any score, and so must the replay
    sig = Signals({"can-cuoc": 0.95}, {"can-cuoc": 60.0}, None, True, None, 0.0, sensitive="bribe")
    fused = calibrate.fuse(calibrate.Line({"guide": "sensitive"}, True, sig), calibrate.FusionWeights())
    assert calibrate.outcome(fused, 0.5, 0.0) == ("sensitive", "", [])
