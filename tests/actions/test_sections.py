"""Which part of a guide answers: question shapes, the cue gate, the summary for general questions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from actions.retrieval.calibration import SectionWeights
from actions.retrieval.index import HybridIndex
from actions.retrieval.sections import GENERAL, PartFeatures, choose_section, cues_of, pick_part, same_part


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("làm lại căn cước hết bao nhiêu tiền", "Phí và thời gian"),
        ("lam ho chieu mat may ngay", "Phí và thời gian"),
        ("bn tien", "Phí và thời gian"),
        ("xin lý lịch tư pháp ở đâu", "Hỏi ở đâu"),
        ("so tong dai vneid la so nao", "Hỏi ở đâu"),
        ("đăng ký kết hôn cần giấy tờ gì", "Cần chuẩn bị"),
        ("làm thế nào để nộp hồ sơ", "Các bước"),
    ],
)
def test_question_shapes_read_with_or_without_diacritics(text: str, cue: str) -> None:
    assert cue in cues_of(text)


def test_a_general_question_has_no_shape() -> None:
    assert cues_of("thẻ căn cước") == set()


def features(headings: tuple[str, ...], lexical: list[float], cue: list[float]) -> PartFeatures:
    n = len(headings)
    return PartFeatures(headings, np.array(lexical), np.zeros(n), np.array(cue),
                        np.array([1.0 if h == GENERAL else 0.0 for h in headings]),
                        np.array([h in ("Phí và thời gian", "Hỏi ở đâu", "Cần chuẩn bị", "Các bước") for h in headings]))


def test_a_fee_part_needs_a_fee_question() -> None:
    # "kích hoạt … miễn phí" matches the fee line best, but the question does not ask about fees
    parts = features((GENERAL, "Phí và thời gian", "Quên passcode"), [0.6, 1.0, 0.2], [0, 0, 0])
    assert pick_part(parts, SectionWeights()).heading == GENERAL
    asked = features((GENERAL, "Phí và thời gian", "Quên passcode"), [0.6, 1.0, 0.2], [0, 1, 0])
    assert pick_part(asked, SectionWeights()).heading == "Phí và thời gian"


def test_a_fee_part_without_a_fee_question_can_win_through_its_own_questions_at_a_cost() -> None:
    # "lấy ngay được không hay phải hẹn hôm sau" has no fee shape, but matches a question written for the fee part
    headings = (GENERAL, "Phí và thời gian", "Phí và thời gian", "Quên passcode")
    base = replace(features(headings, [0.5, 0.3, 1.0, 0.2], [0, 0, 0, 0]),
                   from_questions=np.array([False, False, True, False]))
    assert pick_part(base, SectionWeights()).heading == GENERAL  # off by default (uncued < 0)
    assert pick_part(base, SectionWeights(uncued=0.2)).heading == "Phí và thời gian"
    assert pick_part(base, SectionWeights(uncued=0.6)).heading == GENERAL  # the cost outweighs the lead
    # the part's own text never wins without the shape, whatever the cost
    own_text = replace(base, from_questions=np.array([False, False, False, False]))
    assert pick_part(own_text, SectionWeights(uncued=0.0)).heading == GENERAL


def test_a_problem_that_matches_beats_the_summary() -> None:
    parts = features((GENERAL, "Quên passcode"), [0.4, 1.0], [0, 0])
    choice = pick_part(parts, SectionWeights(general=0.2))
    assert (choice.heading, choice.runner_up) == ("Quên passcode", GENERAL)


def test_no_parts_means_the_summary() -> None:
    empty = PartFeatures((), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
    assert pick_part(empty, SectionWeights()).heading == GENERAL


@pytest.mark.parametrize(("got", "label", "same"), [("", "Tóm tắt", True), ("Tóm tắt", "", True),
                                                    ("Phí và thời gian", "phi va thoi gian", True),
                                                    ("Hỏi ở đâu", "Phí và thời gian", False)])
def test_same_part(got: str, label: str, same: bool) -> None:
    assert same_part(got, label) is same


def test_a_problem_needs_a_word_beyond_the_topic() -> None:
    # "kích hoạt vneid thế nào" names only the topic: a problem whose examples repeat the topic's words does not win
    headings = (GENERAL, "Không có điện thoại thông minh")
    base = features(headings, [0.8, 1.0], [0, 0])
    only_topic = replace(base, evidence=np.array([True, False]))
    assert pick_part(only_topic, SectionWeights()).heading == GENERAL
    with_evidence = replace(base, evidence=np.array([True, True]))
    assert pick_part(with_evidence, SectionWeights()).heading == "Không có điện thoại thông minh"


def test_a_question_of_a_parts_shape_needs_no_other_word() -> None:
    # "lệ phí căn cước": the fee part answers though "lệ phí" is all the question adds to the topic's words
    headings = (GENERAL, "Phí và thời gian")
    parts = PartFeatures(headings, np.array([0.5, 1.0]), np.zeros(2), np.array([0.0, 1.0]), np.array([1.0, 0.0]),
                         np.array([False, True]), evidence=np.array([True, False]))
    assert pick_part(parts, SectionWeights()).heading == "Phí và thời gian"


def test_the_summary_answers_a_question_that_only_names_the_topic(bm25_index: HybridIndex) -> None:
    assert choose_section(bm25_index, "vneid-activate", "kích hoạt vneid thế nào", SectionWeights()).heading == GENERAL
