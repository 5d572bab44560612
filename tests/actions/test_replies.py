"""Answers cut to one screen: a long part keeps the lines the question asks about (actions/replies.py `focused`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from actions import replies
from common.guides import guide_files, parse_guide
from common.text import truncate

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
HEAD = "📘 Cư trú — Phí và thời gian"
FEES = [f"- Lệ phí loại {i}: nộp online {i}.000 đ, nộp trực tiếp {2 * i}.000 đ theo Thông tư, có nơi miễn phí." for i in
        range(1, 11)]
EXTEND = "- Gia hạn tạm trú: làm trước khi hết hạn 15 ngày."
BODY = "\n".join([HEAD, "", *FEES, EXTEND])


def test_a_part_too_long_keeps_the_line_asked_about_and_marks_what_it_leaves_out() -> None:
    assert len(BODY) > 500 and EXTEND not in truncate(BODY, 500)  # cut from the top, the asked line is lost

    text = replies.focused(BODY, "khi nào thì đi gia hạn tạm trú vậy", 500)

    assert len(text) <= 500
    assert text.startswith(HEAD + "\n\n")
    assert EXTEND in text
    lines = text.split("\n")[2:]
    assert "…" in lines and "…\n…" not in text  # a run of lines left out shows once
    kept = [line for line in lines if line != "…"]
    assert kept == [line for line in [*FEES, EXTEND] if line in kept]  # in the guide's order


def test_without_diacritics_the_same_line_is_kept() -> None:
    assert EXTEND in replies.focused(BODY, "khi nao thi di gia han tam tru vay", 500)


@pytest.mark.parametrize("question", ["", "xin chào", "ok"])
def test_a_question_that_names_no_line_cuts_from_the_top(question: str) -> None:
    assert replies.focused(BODY, question, 500) == truncate(BODY, 500)


def test_a_part_that_fits_is_shown_whole() -> None:
    assert replies.focused(BODY, "gia hạn tạm trú", len(BODY)) == BODY


@pytest.mark.parametrize("path", guide_files(KNOWLEDGE), ids=lambda p: p.stem)
def test_every_focused_answer_fits_and_keeps_its_title(path: Path) -> None:
    """Asked with each line of a part, the answer stays within the screen budget and starts with the part's title."""
    guide = parse_guide(path)
    for section in guide.sections:
        if section.heading in replies.GENERAL_HEADINGS or section.heading == "Các bước":
            continue
        title = replies.answer_message(guide, section)["text"].split("\n\n")[0]
        link = guide.source_for(section)
        for line in [line for line in section.body.split("\n") if line.strip()]:
            text = replies.answer_message(guide, section, question=line)["text"]
            assert len(text) - max(0, len(link) - replies.LINK_BUDGET) <= replies.MAX_ANSWER_CHARS, section.heading
            assert text.split("\n\n")[0] == title


def test_the_answer_keeps_the_asked_line_of_a_real_part() -> None:
    guide = parse_guide(KNOWLEDGE / "residence-registration.md")
    section = guide.section("Phí và thời gian")
    long_part = dataclasses.replace(section, body=section.body + "\n" + "\n".join(FEES))
    text = replies.answer_message(guide, long_part, question="lúc nào phải làm gia hạn tạm trú")["text"]
    assert "15 ngày" in text
