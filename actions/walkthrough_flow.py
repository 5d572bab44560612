"""The step-by-step walkthrough as pure code: state, moves, readiness check and troubleshooting lookup.

No Rasa here: actions/walkthrough.py keeps the state in slots and renders it; these functions decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from common.guides import Guide, Section
from common.messages import say

# Which guide fixes a missing precondition, and how to ask about it (yes/no).
FIXED_BY = {"vneid-level2": "vneid-register-level2", "payment-account": "support-contacts",
            "e-signature": "e-signature", "smartphone-nfc": "support-contacts"}
PRECONDITION_QUESTIONS = {need: say(f"readiness.{need}") for need in FIXED_BY}
PRECONDITION_FIX = {need: (guide, say(f"readiness_fix.{need}")) for need, guide in FIXED_BY.items()}


# The journey residents follow: finishing one walkthrough offers the next one.
# Walkthroughs that end with a dossier filed (so the finish message explains how to track it).
FILES_A_DOSSIER = frozenset({
    "dvc-submit", "payment-online", "birth-registration", "death-registration", "marriage-registration",
    "residence-registration", "judicial-record", "certified-copy", "can-cuoc", "passport", "household-business",
})
FOLLOW_UP = {
    "vneid-register-level2": "vneid-activate",
    "vneid-activate": "dvc-login",
    "dvc-login": "dvc-submit",
    "dvc-submit": "payment-online",
}


class WalkthroughError(ValueError):
    """A walkthrough cannot be started or moved as asked."""


@dataclass(frozen=True)
class WalkState:
    """Where a resident is in one guide's steps."""

    guide_id: str
    step: int  # 1-based
    total: int
    started_at: float
    stuck_steps: tuple[int, ...] = field(default=())
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        """True once the resident completed the last step."""
        return self.finished_at is not None

    @property
    def is_last(self) -> bool:
        """True on the last step."""
        return self.step >= self.total


def start(guide: Guide | None, now: float) -> WalkState:
    """A new walkthrough at step 1; fails for an unknown guide or one without steps."""
    if guide is None:
        raise WalkthroughError("unknown guide")
    if not guide.steps:
        raise WalkthroughError(f"guide {guide.id} has no steps")
    return WalkState(guide.id, 1, len(guide.steps), now)


def forward(state: WalkState, now: float) -> WalkState:
    """The next step; after the last step the walkthrough is finished (and stays on the last step)."""
    if state.finished:
        return state
    if state.is_last:
        return replace(state, finished_at=now)
    return replace(state, step=state.step + 1)


def back(state: WalkState) -> WalkState:
    """The previous step; at step 1 it stays at step 1."""
    return replace(state, step=max(1, state.step - 1), finished_at=None)


def restart(state: WalkState, now: float) -> WalkState:
    """Back to step 1 of the same guide, as a new attempt."""
    return WalkState(state.guide_id, 1, state.total, now)


def mark_stuck(state: WalkState) -> WalkState:
    """Remember that the resident got stuck at the current step."""
    if state.step in state.stuck_steps:
        return state
    return replace(state, stuck_steps=(*state.stuck_steps, state.step))


def missing_answers(guide: Guide, answers: dict[str, bool | None]) -> list[str]:
    """Preconditions of a guide the resident has not been asked about yet, in a fixed order."""
    return [need for need in PRECONDITION_QUESTIONS if need in guide.needs and answers.get(need) is None]


def missing_preconditions(guide: Guide, answers: dict[str, bool | None]) -> list[str]:
    """Preconditions of a guide the resident said they do not have."""
    return [need for need in PRECONDITION_QUESTIONS if need in guide.needs and answers.get(need) is False]


def troubleshooting(guide: Guide, step: int, guides: dict[str, Guide]) -> list[tuple[Guide, Section]]:
    """The problem blocks to open when a resident is stuck at a step (from the guide's `stuck:` map).

    Falls back to the guide's own first three problems when the step has no entry.
    """
    found: list[tuple[Guide, Section]] = []
    for ref in guide.stuck.get(step, ()):
        target_id, _, heading = ref.partition("#")
        target = guides.get(target_id) if target_id else guide
        if target is None:
            continue
        section = next((p for p in target.problems if p.heading == heading), None)
        if section is not None:
            found.append((target, section))
    if not found:
        found = [(guide, p) for p in guide.problems[:3]]
    return found
