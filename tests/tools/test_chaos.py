"""The fault run's own checks must be able to fail: its personal-data patterns, its cards, its goal test."""

from __future__ import annotations

import random
from typing import Any

import pytest

from common.text import mask_pii
from tools.chaos import Secrets, goals_met, luhn_card, raw_pattern


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        doubled = d * 2 if i % 2 else d
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def test_generated_cards_pass_luhn_and_are_masked_by_the_assistant() -> None:
    rng = random.Random(3)
    for _ in range(50):
        card = luhn_card(rng)
        assert luhn_ok(card) and len(card.replace(" ", "")) == 16
        assert "[THẺ]" in mask_pii(f"thẻ {card} bị lỗi")


@pytest.mark.parametrize(("text", "found"), [
    ("OTP là 482913 nhé", True),
    ("sđt 0912.345.678", False),
    ("mã 482 913", True),
    ('"at": 1796238895.482913}', False),  # the fraction of a timestamp is not an OTP
    ("1482913", False),
    ("4829130", False),
])
def test_raw_pattern_finds_a_value_written_any_way_but_not_inside_other_numbers(text: str, found: bool) -> None:
    assert bool(raw_pattern("482913").search(text)) is found


def test_every_secret_kind_is_masked_in_what_residents_send() -> None:
    secrets = Secrets.make(random.Random(5))
    message = (f"CCCD {secrets.cccd}, sđt {secrets.phone}, mã OTP là {secrets.otp}, thẻ {secrets.card}")
    masked = mask_pii(message)
    for value in secrets.values():
        assert not raw_pattern(value).search(masked)


def report(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "messages": {"sent": 10, "lost": 0}, "ratings": {"duplicated": 0, "lost": 0},
        "history": {"conversations_shrank": 0, "messages_handled_twice": 0}, "personal_data": {"hits": 0},
        "crashed": [],
    }
    for path, value in changes.items():
        section, key = path.split("__")
        base[section] = {**base[section], key: value} if isinstance(base[section], dict) else value
    return base


@pytest.mark.parametrize("change", [{"messages__lost": 1}, {"ratings__duplicated": 1}, {"ratings__lost": 2},
                                    {"history__conversations_shrank": 1}, {"history__messages_handled_twice": 1},
                                    {"personal_data__hits": 1}, {"messages__sent": 0}])
def test_any_missed_goal_fails_the_run(change: dict[str, Any]) -> None:
    assert goals_met(report())
    assert not goals_met(report(**change))


def test_a_crash_fails_the_run() -> None:
    failing = report()
    failing["crashed"] = ["rasa1"]
    assert not goals_met(failing)
