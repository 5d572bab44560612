"""Words residents read, from one reviewed catalogue (messages/vi.yml) a commune can change without touching code.

    say("feedback.invite")                       → the sentence
    say("walkthrough.step", step=2, total=5, …)  → the sentence with its {placeholders} filled in

The catalogue is read once, on first use. A key the catalogue lacks, or a placeholder left unfilled, raises: a wrong
or half-filled sentence never reaches a resident (`tests/common/test_messages.py` checks every key the code uses).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

CATALOGUE = Path(__file__).resolve().parent.parent / "messages" / "vi.yml"


@lru_cache(maxsize=4)
def catalogue(path: Path = CATALOGUE) -> dict[str, str]:
    """Key → text, checked: every value a non-empty string."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected key: text lines")
    bad = sorted(str(k) for k, v in data.items() if not isinstance(v, str) or not v.strip())
    if bad:
        raise ValueError(f"{path}: these keys need a text: {', '.join(bad)}")
    return {str(k): v for k, v in data.items()}


def say(key: str, **values: Any) -> str:
    """The catalogue's text for `key`, with its {placeholders} filled from `values`."""
    template = catalogue()[key]
    return template.format(**values) if values else template
