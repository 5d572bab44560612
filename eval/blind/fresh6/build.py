#!/usr/bin/env python3
"""Build eval/blind/fresh6/questions.jsonl from the hand-written originals in eval/blind/fresh6/src.py.

Deterministic: same source -> same file. Same row schema as eval/blind/questions.jsonl and eval/blind/fresh/ ...
eval/blind/fresh5/; ids n001...; every row (variants too) is split "validation": this set is a VALIDATION set about what a
message does (feedback, handoff, sensitive, and guide questions that only look like those), meant for tuning the act
decisions; it is not sealed. The no-diacritics and abbreviation variants are made with the functions of
eval/blind/build.py (imported, not re-implemented), with the same rules:
  - nd: strip_diacritics(text), final punctuation dropped, kept only when it differs from the original
  - ab: abbreviate(text), kept only when at least two replacements apply
Run:
    python3 eval/blind/fresh6/build.py
    python3 eval/blind/fresh6/validate.py
"""

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent

# the builder is eval/blind/fresh/build.py's, with this folder, id prefix and split
_spec = importlib.util.spec_from_file_location("fresh_build", HERE.parent / "fresh" / "build.py")
fresh_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fresh_build)

if __name__ == "__main__":
    fresh_build.build(HERE, "n", "validation")
