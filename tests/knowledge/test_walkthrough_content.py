"""The walkthrough front matter of every guide in knowledge/: `needs:` and `stuck:` point at things that exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions import walkthrough_flow as flow
from actions.walkthrough import READINESS_SLOTS
from common.guides import PRECONDITIONS, Guide, load_guides

ROOT = Path(__file__).resolve().parents[2]
GUIDES = load_guides(ROOT / "knowledge")
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
# The allowed `needs:` words, written out: adding one means a question, a fixing guide and a slot (tested below).
VOCABULARY = {"vneid-level2", "payment-account", "e-signature", "smartphone-nfc"}

STUCK_REFS = [
    (guide_id, step, ref)
    for guide_id, guide in sorted(GUIDES.items())
    for step, refs in sorted(guide.stuck.items())
    for ref in refs
]
NEEDS = [(guide_id, need) for guide_id, guide in sorted(GUIDES.items()) for need in guide.needs]


def resolve(guide: Guide, ref: str) -> tuple[Guide | None, str]:
    """The guide a reference points into ('#x' is the guide itself) and the heading it names."""
    target_id, _, heading = ref.partition("#")
    return (GUIDES.get(target_id) if target_id else guide), heading


def test_guides_have_stuck_maps() -> None:
    assert STUCK_REFS, "no guide has a stuck: map"
    assert {ref.startswith("#") for _, _, ref in STUCK_REFS} == {True, False}  # both kinds are in use


@pytest.mark.parametrize(("guide_id", "step", "ref"), STUCK_REFS, ids=[f"{g}-{s}-{r}" for g, s, r in STUCK_REFS])
def test_stuck_reference_names_an_existing_problem(guide_id: str, step: int, ref: str) -> None:
    guide = GUIDES[guide_id]
    assert "#" in ref, f"'{ref}' needs 'guide-id#heading' or '#heading'"
    target, heading = resolve(guide, ref)
    assert target is not None, f"{guide_id}: '{ref}' names an unknown guide"
    problems = [p.heading for p in target.problems]
    assert heading in problems, f"{guide_id} step {step}: no '### {heading}' under 'Lỗi thường gặp' in {target.id}"
    # and the walkthrough really offers it
    offered = [f"{g.id}#{s.heading}" for g, s in flow.troubleshooting(guide, step, GUIDES)]
    assert f"{target.id}#{heading}" in offered


@pytest.mark.parametrize("guide_id", sorted(GUIDES))
def test_stuck_steps_exist_and_name_something(guide_id: str) -> None:
    guide = GUIDES[guide_id]
    assert all(1 <= step <= len(guide.steps) for step in guide.stuck), sorted(guide.stuck)
    assert all(guide.stuck[step] for step in guide.stuck), "a step with an empty list"
    assert all(len(set(refs)) == len(refs) for refs in guide.stuck.values()), "a reference listed twice"


@pytest.mark.parametrize("guide_id", sorted(GUIDES))
def test_a_resident_stuck_at_any_step_is_offered_something(guide_id: str) -> None:
    guide = GUIDES[guide_id]
    for step in range(1, len(guide.steps) + 1):
        assert flow.troubleshooting(guide, step, GUIDES), f"step {step}"


@pytest.mark.parametrize(("guide_id", "need"), NEEDS, ids=[f"{g}-{n}" for g, n in NEEDS])
def test_need_is_in_the_vocabulary(guide_id: str, need: str) -> None:
    assert need in VOCABULARY


@pytest.mark.parametrize("guide_id", sorted(GUIDES))
def test_needs_are_listed_once(guide_id: str) -> None:
    needs = GUIDES[guide_id].needs
    assert len(needs) == len(set(needs))


def test_vocabulary_is_the_same_everywhere() -> None:
    assert PRECONDITIONS == VOCABULARY
    assert set(flow.PRECONDITION_QUESTIONS) == set(flow.PRECONDITION_FIX) == set(READINESS_SLOTS) == VOCABULARY


@pytest.mark.parametrize("need", sorted(VOCABULARY))
def test_every_need_can_be_asked_stored_and_fixed(need: str) -> None:
    assert flow.PRECONDITION_QUESTIONS[need].endswith("?")
    assert DOMAIN["slots"][READINESS_SLOTS[need]]["type"] == "bool"
    fix_id, what = flow.PRECONDITION_FIX[need]
    assert fix_id in GUIDES, f"the guide that fixes {need} does not exist"
    assert GUIDES[fix_id].steps, f"{fix_id} has no steps to walk through"
    assert what and not what.endswith(".")  # the checklist adds the full stop
    # whether the fixing walkthrough can then be started is tested on the actions (tests/actions/test_walkthrough.py)


def test_guides_that_need_vneid_level2_are_the_online_procedures() -> None:
    needing = {g for g, guide in GUIDES.items() if "vneid-level2" in guide.needs}
    # the guides that help a resident get there must not ask for it first
    assert not needing & {
        "vneid-register-level2",
        "vneid-activate",
        "vneid-troubleshoot",
        "support-contacts",
        "scam-safety",
    }
    assert {"dvc-login", "dvc-submit", "judicial-record"} <= needing
