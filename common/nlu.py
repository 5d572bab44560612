"""Rasa's training examples (data/nlu/*.yml) read outside Rasa: by the retrieval index and by the tool that
generates data/nlu/parts.yml."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml


def nlu_examples(nlu_dir: Path | None, skip: Path | None = None) -> Iterator[tuple[str, str]]:
    """(intent, example) for every example in the folder's files, in file order; `skip` leaves one file out."""
    if nlu_dir is None or not nlu_dir.is_dir():
        return
    for path in sorted(nlu_dir.glob("*.yml")):
        if path == skip:
            continue
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            intent = str(block.get("intent") or "")
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("- ") and line.strip()[2:].strip():
                    yield intent, line.strip()[2:].strip()
