"""The walkthrough state machine (actions/walkthrough_flow.py): pure functions over guides built in code."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from actions import walkthrough_flow as flow
from actions.walkthrough_flow import WalkState, WalkthroughError
from common.guides import PRECONDITIONS, Guide, Section

T0 = 1_750_000_000.0  # any fixed "now"; the flow never reads the clock itself


def make_guide(
    guide_id: str = "sample",
    steps: int = 4,
    needs: tuple[str, ...] = (),
    problems: tuple[str, ...] = ("Lỗi một", "Lỗi hai", "Lỗi ba", "Lỗi bốn"),
    stuck: dict[int, tuple[str, ...]] | None = None,
) -> Guide:
    """A guide with `steps` numbered steps and one ### block per problem heading."""
    sections = [Section(guide_id, "Tóm tắt", "Tóm tắt mẫu.")]
    if steps:
        sections.append(
            Section(guide_id, "Các bước", "\n".join(f"{i}. Làm việc thứ {i}." for i in range(1, steps + 1)))
        )
    sections.append(Section(guide_id, "Lỗi thường gặp", "\n".join(f"### {p}\nCách sửa {p}." for p in problems)))
    sections += [Section(guide_id, p, f"Cách sửa {p}.", parent="Lỗi thường gặp") for p in problems]
    return Guide(
        id=guide_id,
        title=f"Hướng dẫn {guide_id}",
        summary="Mẫu.",
        aliases=(),
        questions=(),
        sources=({"name": "Cổng", "url": "https://dichvucong.gov.vn"},),
        reviewed=dt.date(2025, 11, 1),
        applies_from=None,
        related=(),
        needs=needs,
        sections=tuple(sections),
        stuck=stuck or {},
    )


def at(step: int, total: int = 4, **changes: Any) -> WalkState:
    return dataclasses.replace(WalkState("sample", step, total, T0), **changes)


# --- start ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 3, 12])
def test_start_is_step_one_of_the_guide(steps: int) -> None:
    state = flow.start(make_guide(steps=steps), T0)
    assert state == WalkState("sample", 1, steps, T0, (), None)
    assert not state.finished
    assert state.is_last == (steps == 1)


@pytest.mark.parametrize(
    ("guide", "message"),
    [(None, "unknown guide"), (make_guide("empty", steps=0), "guide empty has no steps")],
    ids=["unknown-guide", "no-steps"],
)
def test_start_refuses_what_cannot_be_walked(guide: Guide | None, message: str) -> None:
    with pytest.raises(WalkthroughError, match=message):
        flow.start(guide, T0)


def test_walkthrough_error_is_a_value_error() -> None:
    assert issubclass(WalkthroughError, ValueError)


def test_state_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        at(1).step = 2  # type: ignore[misc]


# --- forward -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "total"), [(1, 2), (1, 4), (2, 4), (3, 4), (11, 12)])
def test_forward_moves_one_step(step: int, total: int) -> None:
    moved = flow.forward(at(step, total), T0 + 60)
    assert moved == at(step + 1, total)  # same start time, not finished
    assert not moved.finished


@pytest.mark.parametrize("total", [1, 4, 12])
def test_forward_at_the_last_step_finishes_and_stays_there(total: int) -> None:
    last = at(total, total, stuck_steps=(2,))
    assert last.is_last
    done = flow.forward(last, T0 + 300)
    assert done.finished
    assert (done.step, done.total, done.finished_at) == (total, total, T0 + 300)
    assert (done.started_at, done.stuck_steps) == (T0, (2,))


def test_forward_after_finishing_changes_nothing() -> None:
    done = flow.forward(at(4), T0 + 300)
    assert flow.forward(done, T0 + 999) is done
    assert done.finished_at == T0 + 300


def test_forward_through_a_whole_guide() -> None:
    state = flow.start(make_guide(steps=5), T0)
    seen = [state.step]
    while not state.finished:
        state = flow.forward(state, T0 + len(seen))
        seen.append(state.step)
    assert seen == [1, 2, 3, 4, 5, 5]
    assert state.finished_at == T0 + 5


# --- back, restart, stuck ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "expected"), [(1, 1), (2, 1), (3, 2), (4, 3)])
def test_back(step: int, expected: int) -> None:
    state = at(step, stuck_steps=(1,))
    assert flow.back(state) == at(expected, stuck_steps=(1,))


def test_back_at_step_one_stays_at_step_one_however_often() -> None:
    state = at(1)
    for _ in range(3):
        state = flow.back(state)
    assert state == at(1)


def test_back_from_a_finished_walkthrough_reopens_it() -> None:
    done = flow.forward(at(4), T0 + 10)
    back = flow.back(done)
    assert (back.step, back.finished) == (3, False)


@pytest.mark.parametrize("state", [at(3, stuck_steps=(2, 3)), at(4, finished_at=T0 + 50), at(1)])
def test_restart_is_a_new_attempt_at_step_one(state: WalkState) -> None:
    again = flow.restart(state, T0 + 600)
    assert again == WalkState("sample", 1, 4, T0 + 600, (), None)


def test_mark_stuck_remembers_the_step() -> None:
    assert flow.mark_stuck(at(3)).stuck_steps == (3,)
    assert flow.mark_stuck(at(3)).step == 3


def test_mark_stuck_is_idempotent() -> None:
    once = flow.mark_stuck(at(2))
    assert flow.mark_stuck(once) is once
    assert flow.mark_stuck(flow.mark_stuck(once)).stuck_steps == (2,)


def test_mark_stuck_keeps_the_order_steps_were_met() -> None:
    state = at(3)
    for move in (flow.mark_stuck, flow.back, flow.mark_stuck, lambda s: flow.forward(s, T0), flow.mark_stuck):
        state = move(state)
    assert state.stuck_steps == (3, 2)
    assert state.step == 3


# --- readiness -----------------------------------------------------------------------------------------------


def test_precondition_tables_cover_the_vocabulary() -> None:
    assert set(flow.PRECONDITION_QUESTIONS) == set(flow.PRECONDITION_FIX) == PRECONDITIONS
    assert all(q.endswith("?") for q in flow.PRECONDITION_QUESTIONS.values())


@pytest.mark.parametrize(
    ("needs", "answers", "expected"),
    [
        ((), {}, []),
        (("vneid-level2",), {}, ["vneid-level2"]),
        # the fixed order of PRECONDITION_QUESTIONS, whatever the order in the guide
        (("payment-account", "vneid-level2"), {}, ["vneid-level2", "payment-account"]),
        (("smartphone-nfc", "e-signature", "payment-account", "vneid-level2"), {}, list(flow.PRECONDITION_QUESTIONS)),
        # an answer, yes or no, is not asked again
        (("vneid-level2", "payment-account"), {"vneid-level2": True}, ["payment-account"]),
        (("vneid-level2", "payment-account"), {"vneid-level2": False}, ["payment-account"]),
        (("vneid-level2", "payment-account"), {"vneid-level2": False, "payment-account": True}, []),
        # None means not asked yet; answers about things the guide does not need do not matter
        (("vneid-level2",), {"vneid-level2": None, "e-signature": True}, ["vneid-level2"]),
        (("not-a-precondition",), {}, []),
    ],
)
def test_missing_answers(needs: tuple[str, ...], answers: dict[str, bool | None], expected: list[str]) -> None:
    assert flow.missing_answers(make_guide(needs=needs), answers) == expected


@pytest.mark.parametrize(
    ("needs", "answers", "expected"),
    [
        (("vneid-level2",), {}, []),
        (("vneid-level2",), {"vneid-level2": None}, []),
        (("vneid-level2",), {"vneid-level2": True}, []),
        (("vneid-level2",), {"vneid-level2": False}, ["vneid-level2"]),
        (
            ("payment-account", "vneid-level2"),
            {"payment-account": False, "vneid-level2": False},
            ["vneid-level2", "payment-account"],
        ),
        (("payment-account", "vneid-level2"), {"payment-account": False, "vneid-level2": True}, ["payment-account"]),
        ((), {"vneid-level2": False}, []),  # a "no" the guide does not care about
    ],
)
def test_missing_preconditions(needs: tuple[str, ...], answers: dict[str, bool | None], expected: list[str]) -> None:
    assert flow.missing_preconditions(make_guide(needs=needs), answers) == expected


# --- troubleshooting -----------------------------------------------------------------------------------------

OTHER = make_guide("other", problems=("Lỗi khác", "Lỗi nữa"))


def found(pairs: list[tuple[Guide, Section]]) -> list[str]:
    return [f"{g.id}#{s.heading}" for g, s in pairs]


@pytest.mark.parametrize(
    ("stuck", "step", "expected"),
    [
        ({2: ("#Lỗi hai",)}, 2, ["sample#Lỗi hai"]),
        ({2: ("other#Lỗi nữa",)}, 2, ["other#Lỗi nữa"]),
        ({2: ("other#Lỗi nữa", "#Lỗi ba", "other#Lỗi khác")}, 2, ["other#Lỗi nữa", "sample#Lỗi ba", "other#Lỗi khác"]),
        # a guide may name itself
        ({1: ("sample#Lỗi bốn",)}, 1, ["sample#Lỗi bốn"]),
        # refs that resolve to nothing are skipped; the rest still count
        ({2: ("nowhere#Lỗi một", "#Không có", "other#Lỗi hai", "#Lỗi bốn")}, 2, ["sample#Lỗi bốn"]),
    ],
    ids=["own", "other-guide", "mixed-in-order", "self-by-id", "broken-refs-skipped"],
)
def test_troubleshooting_follows_the_stuck_map(
    stuck: dict[int, tuple[str, ...]], step: int, expected: list[str]
) -> None:
    guide = make_guide(stuck=stuck)
    assert found(flow.troubleshooting(guide, step, {"sample": guide, "other": OTHER})) == expected


@pytest.mark.parametrize(
    ("stuck", "step"),
    [
        ({}, 1),  # no stuck map at all
        ({2: ("#Lỗi hai",)}, 3),  # no entry for this step
        ({3: ("nowhere#Lỗi một", "#Không có")}, 3),  # an entry where nothing resolves
        ({3: ()}, 3),  # an empty entry
    ],
    ids=["no-map", "no-entry", "nothing-resolves", "empty-entry"],
)
def test_troubleshooting_falls_back_to_the_guides_own_problems(stuck: dict[int, tuple[str, ...]], step: int) -> None:
    guide = make_guide(stuck=stuck)
    result = flow.troubleshooting(guide, step, {"sample": guide, "other": OTHER})
    assert result == [(guide, p) for p in guide.problems[:3]]
    assert found(result) == ["sample#Lỗi một", "sample#Lỗi hai", "sample#Lỗi ba"]


def test_troubleshooting_of_a_guide_without_problems_is_empty() -> None:
    guide = make_guide(problems=())
    assert flow.troubleshooting(guide, 1, {"sample": guide}) == []


def test_troubleshooting_matches_whole_headings_only() -> None:
    guide = make_guide(stuck={1: ("#Lỗi", "#lỗi một", "# Lỗi hai", "other#Lỗi khác")})
    assert found(flow.troubleshooting(guide, 1, {"sample": guide, "other": OTHER})) == ["other#Lỗi khác"]


def test_the_journey_offers_the_next_walkthrough_at_the_finish() -> None:
    from pathlib import Path

    from actions import walkthrough
    from common.guides import load_guides

    guides = load_guides(Path(__file__).resolve().parents[2] / "knowledge")
    assert set(flow.FOLLOW_UP) | set(flow.FOLLOW_UP.values()) <= set(guides)
    done = flow.WalkState("vneid-register-level2", 6, 6, 0.0, finished_at=10.0)
    message = walkthrough.finish_message(guides["vneid-register-level2"], done, 10.0, guides)
    assert message["buttons"][0]["payload"] == '/start_walkthrough{"topic": "vneid-activate"}'
    last = flow.WalkState("payment-online", 7, 7, 0.0, finished_at=10.0)
    payment = walkthrough.finish_message(guides["payment-online"], last, 10.0, guides)
    assert all("start_walkthrough" not in b["payload"] for b in payment["buttons"])
